import { asTenantId, TenantDb } from '@app/authz';
import { createTenant, createTenantKey, TestApp } from '@app/testing';
import { DataSource } from 'typeorm';
import { startApi } from '../support/api';

describe('row-level security', () => {
  let t: TestApp;
  let a: string;
  let b: string;

  beforeAll(async () => {
    // One connection: every transaction below reuses it, so a leaked tenant setting would show.
    t = await startApi({
      env: { DATABASE_POOL_SIZE: '1' },
    });
    a = (await createTenant(t)).id;
    b = (await createTenant(t)).id;
    for (const tenant of [a, b]) {
      await createTenantKey(t, tenant, ['viewer']);
      await createTenantKey(t, tenant, ['ml_engineer']);
    }
  });
  afterAll(() => t.close());

  const db = () => t.app.get(TenantDb);

  it("returns none of tenant B's rows to a raw query without a filter under tenant A", async () => {
    const rows: { tenant_id: string }[] = await db().inTenant(asTenantId(a), (m) =>
      m.query('SELECT tenant_id FROM api_keys'),
    );
    expect(rows.length).toBe(2);
    expect(new Set(rows.map((r) => r.tenant_id))).toEqual(new Set([a]));
    const tenants: { id: string }[] = await db().inTenant(asTenantId(a), (m) =>
      m.query('SELECT id FROM tenants'),
    );
    expect(tenants.map((r) => r.id)).toEqual([a]);
  });

  it('returns zero rows, not all rows, when no tenant is set', async () => {
    const dataSource = t.app.get(DataSource);
    const [{ role }] = await dataSource.query('SELECT current_user AS role');
    expect(role).toBe('cp_app');
    expect(await dataSource.query('SELECT * FROM api_keys')).toEqual([]);
    expect(await dataSource.query('SELECT * FROM tenants')).toEqual([]);
  });

  it('refuses to write a row of another tenant', async () => {
    await expect(
      db().inTenant(asTenantId(a), (m) =>
        m.query(
          `INSERT INTO api_keys (tenant_id, name, prefix, secret_hash) VALUES ($1, 'x', 'x', '\\x00')`,
          [b],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('keeps tenants apart when their transactions interleave on one pooled connection', async () => {
    const seen = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const tenant = i % 2 ? a : b;
        return db().inTenant(asTenantId(tenant), async (m) => {
          const rows: { tenant_id: string }[] = await m.query('SELECT tenant_id FROM api_keys');
          return { tenant, owners: [...new Set(rows.map((r) => r.tenant_id))] };
        });
      }),
    );
    for (const { tenant, owners } of seen) expect(owners).toEqual([tenant]);
    // And after all that, the connection carries no tenant.
    expect(await t.app.get(DataSource).query('SELECT * FROM api_keys')).toEqual([]);
  });

  it('lets the explicit platform bypass see every tenant', async () => {
    const rows: { tenant_id: string }[] = await db().asPlatform('test', (m) =>
      m.query('SELECT DISTINCT tenant_id FROM api_keys WHERE tenant_id = ANY($1)', [[a, b]]),
    );
    expect(rows.length).toBe(2);
  });

  it('rejects a malformed tenant id instead of meaning "any tenant"', () => {
    expect(() => asTenantId(undefined)).toThrow();
    expect(() => asTenantId('')).toThrow();
    expect(() => asTenantId("1' OR '1'='1")).toThrow();
  });
});
