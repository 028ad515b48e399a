import { escapeLiteral } from 'pg';
import { inlineParameters } from './inline-parameters';

describe('inlineParameters', () => {
  it('writes each value as a literal, $10 not mistaken for $1', () => {
    const params = ["it's", null, 42, new Date('2027-01-01T00:00:00Z'), Buffer.from([0, 255]), 7n];
    const sql = 'SELECT $1, $2, $3, $4, $5, $6, $1';
    expect(inlineParameters(sql, params, escapeLiteral)).toBe(
      "SELECT 'it''s', NULL, 42, '2027-01-01T00:00:00.000Z', '\\x00ff'::bytea, 7, 'it''s'",
    );
    const ten = Array.from({ length: 10 }, (_, i) => `v${i + 1}`);
    expect(inlineParameters('$10 $1', ten, escapeLiteral)).toBe("'v10' 'v1'");
  });

  it('escapes backslashes and quotes so text cannot end the literal', () => {
    expect(inlineParameters('SELECT $1', ["a\\'; DROP TABLE x; --"], escapeLiteral)).toBe(
      "SELECT  E'a\\\\''; DROP TABLE x; --'",
    );
  });
});
