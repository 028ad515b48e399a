import { AbilityBuilder, createMongoAbility, subject } from '@casl/ability';
import fc from 'fast-check';
import { Client } from 'pg';
import { loadConfig } from '@app/core';
import type { AppAbility } from './ability';
import { accessibleSql, UntranslatableConditionError } from './sql-conditions';

const TENANTS = [
  '11111111-1111-4111-8111-111111111111',
  '22222222-2222-4222-8222-222222222222',
  '33333333-3333-4333-8333-333333333333',
];
const STATUSES = ['active', 'revoked', 'expired'];

interface Row {
  id: number;
  tenantId: string;
  status: string | null;
  priority: number;
}

const COLUMNS: Record<string, string> = {
  tenantId: 'tenant_id',
  status: 'status',
  priority: 'priority',
  id: 'id',
};

const fieldCondition = fc.oneof(
  fc.record({ tenantId: fc.constantFrom(...TENANTS) }),
  fc.record({ tenantId: fc.record({ $in: fc.subarray(TENANTS) }) }),
  fc.record({ tenantId: fc.record({ $nin: fc.subarray(TENANTS) }) }),
  fc.record({ status: fc.constantFrom(...STATUSES) }),
  fc.record({ status: fc.record({ $ne: fc.constantFrom(...STATUSES) }) }),
  fc.record({ status: fc.constant(null) }),
  fc.record({ priority: fc.record({ $gte: fc.integer({ min: 0, max: 5 }) }) }),
  fc.record({ priority: fc.record({ $lt: fc.integer({ min: 0, max: 5 }) }) }),
  fc.record({
    tenantId: fc.constantFrom(...TENANTS),
    priority: fc.record({ $lte: fc.integer({ min: 0, max: 5 }) }),
  }),
);

const ruleArb = fc.record({
  inverted: fc.boolean(),
  conditions: fc.option(fieldCondition, { nil: undefined }),
});

const rowArb = fc.record({
  tenantId: fc.constantFrom(...TENANTS),
  status: fc.option(fc.constantFrom(...STATUSES), { nil: null }),
  priority: fc.integer({ min: 0, max: 5 }),
});

function abilityFrom(rules: { inverted: boolean; conditions?: object }[]): AppAbility {
  const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
  for (const rule of rules) {
    // fast-check makes null-prototype objects; rules in the product are plain JSON.
    const conditions = rule.conditions && JSON.parse(JSON.stringify(rule.conditions));
    (rule.inverted ? cannot : can)('read', 'Thing', conditions as never);
  }
  return build();
}

describe('accessibleSql', () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connectionString: loadConfig(process.env).DATABASE_URL });
    await client.connect();
    await client.query(
      'CREATE TEMP TABLE things (id int PRIMARY KEY, tenant_id uuid NOT NULL, status text, priority int NOT NULL)',
    );
  });
  afterAll(() => client.end());

  it('returns exactly the rows ability.can allows, for random rule sets and rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(ruleArb, { maxLength: 5 }),
        fc.array(rowArb, { minLength: 1, maxLength: 12 }),
        async (rules, rawRows) => {
          const rows: Row[] = rawRows.map((row, id) => ({ id, ...row }));
          const ability = abilityFrom(rules);
          await client.query('TRUNCATE things');
          for (const row of rows) {
            await client.query('INSERT INTO things VALUES ($1, $2, $3, $4)', [
              row.id,
              row.tenantId,
              row.status,
              row.priority,
            ]);
          }
          const where = accessibleSql(ability, 'read', 'Thing', (field) => COLUMNS[field]);
          const { rows: found } = await client.query<{ id: number }>(
            `SELECT id FROM things WHERE ${where.sql} ORDER BY id`,
            where.params,
          );
          const expected = rows
            .filter((row) => ability.can('read', subject('Thing', { ...row })))
            .map((row) => row.id);
          expect(found.map((r) => r.id)).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('answers FALSE when nothing is allowed and TRUE for an unconditional rule', () => {
    expect(accessibleSql(abilityFrom([]), 'read', 'Thing', (f) => COLUMNS[f]).sql).toBe('FALSE');
    expect(
      accessibleSql(abilityFrom([{ inverted: false }]), 'read', 'Thing', (f) => COLUMNS[f]).sql,
    ).toBe('TRUE');
  });

  it('throws on an operator it cannot translate instead of dropping the clause', () => {
    const ability = abilityFrom([{ inverted: false, conditions: { name: { $regex: '^a' } } }]);
    expect(() => accessibleSql(ability, 'read', 'Thing', (f) => f)).toThrow(
      UntranslatableConditionError,
    );
  });

  it('throws on a field without a column', () => {
    const ability = abilityFrom([{ inverted: false, conditions: { secret: 'x' } }]);
    expect(() => accessibleSql(ability, 'read', 'Thing', (f) => COLUMNS[f])).toThrow(
      UntranslatableConditionError,
    );
  });
});
