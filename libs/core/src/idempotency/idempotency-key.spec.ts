import { DomainError } from '../errors/problem';
import { readIdempotencyKey } from './idempotency-key';

function request(...pairs: [string, string][]) {
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    headers[lower] = lower in headers ? `${headers[lower]}, ${value}` : value;
  }
  return { headers, rawHeaders: pairs.flat() };
}

function refusal(req: ReturnType<typeof request>) {
  try {
    readIdempotencyKey(req);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a refusal');
}

describe('readIdempotencyKey', () => {
  it('is undefined without the header', () => {
    expect(readIdempotencyKey(request(['Content-Type', 'application/json']))).toBeUndefined();
  });

  it('returns the key as sent, quotes and spaces included', () => {
    expect(readIdempotencyKey(request(['Idempotency-Key', 'abc 123']))).toBe('abc 123');
    expect(readIdempotencyKey(request(['idempotency-key', '"8e03978e"']))).toBe('"8e03978e"');
    expect(readIdempotencyKey(request(['Idempotency-Key', 'x'.repeat(255)]))).toHaveLength(255);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'x'.repeat(256)],
    ['a tab', 'a\tb'],
    ['DEL', 'a\x7fb'],
    ['a non-ASCII character', 'cl\u00e9'],
  ])('refuses a key with %s as a 400 on path Idempotency-Key', (_what, key) => {
    const error = refusal(request(['Idempotency-Key', key]));
    expect(error.problem).toMatchObject({ code: 'validation_failed', status: 400 });
    expect(error.errors).toEqual([
      { path: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' },
    ]);
  });

  it('refuses the header sent twice (Node would join both into one key)', () => {
    const error = refusal(request(['Idempotency-Key', 'a'], ['idempotency-key', 'b']));
    expect(error.errors).toEqual([{ path: 'Idempotency-Key', message: 'must be sent once' }]);
  });
});
