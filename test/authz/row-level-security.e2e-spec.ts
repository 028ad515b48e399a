import { asTenantId, TenantDb } from '@app/authz';
import { createTenant, createTenantKey, expectEventually, TestApp } from '@app/testing';
import { DataSource } from 'typeorm';
import { Client } from 'pg';
import { loadConfig } from '@app/core';
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

  it('never returns a connection stuck in a failed transaction to the pool', async () => {
    const owner = new Client({ connectionString: loadConfig(process.env).DATABASE_URL });
    await owner.connect();
    try {
      await owner.query('BEGIN');
      await owner.query('LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE');
      // The request's first round trip (BEGIN, settings, tenant check) now waits on the lock...
      const blocked = db().run(
        { kind: 'tenant', tenantId: asTenantId(a), verify: true },
        async () => 'ran',
      );
      await expectEventually(async () => {
        const { rowCount } = await owner.query(
          `SELECT pg_cancel_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        expect(rowCount).toBe(1);
      });
      // ...and is cancelled, as a DBA or a statement_timeout would.
      await expect(blocked).rejects.toThrow(/cancel/);
      await owner.query('ROLLBACK');
    } finally {
      await owner.end();
    }
    // The single pooled connection still works.
    const rows: unknown[] = await db().inTenant(asTenantId(a), (m) =>
      m.query('SELECT 1 FROM api_keys'),
    );
    expect(rows.length).toBe(2);
  });

  it('rejects a malformed tenant id instead of meaning "any tenant"', () => {
    expect(() => asTenantId(undefined)).toThrow();
    expect(() => asTenantId('')).toThrow();
    expect(() => asTenantId("1' OR '1'='1")).toThrow();
  });
});

describe('read-only requests', () => {
  it('runs GET handlers in read-only transactions, so a read can never write', async () => {
    const t = await startApi();
    try {
      const tenant = await createTenant(t);
      const db = t.app.get(TenantDb);
      await expect(
        db.run(
          { kind: 'tenant', tenantId: asTenantId(tenant.id) },
          () => db.manager.query(`UPDATE tenants SET name = 'changed' WHERE id = $1`, [tenant.id]),
          { readOnly: true },
        ),
      ).rejects.toThrow(/read-only transaction/);
    } finally {
      await t.close();
    }
  });
});

describe('a dedicated login role for the app pool (DATABASE_APP_URL)', () => {
  it('serves requests as a non-superuser login, so RESET ROLE gains nothing', async () => {
    const base = loadConfig(process.env).DATABASE_URL;
    // Roles are cluster-wide: one per run and worker, dropped at the end.
    const login = `${process.env.CP_TEST_RUN}_login_${process.env.JEST_WORKER_ID}`;
    const owner = new Client({ connectionString: base });
    await owner.connect();
    await owner.query(`DROP ROLE IF EXISTS "${login}"`);
    await owner.query(`CREATE ROLE "${login}" LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE cp_app`);
    const appUrl = new URL(base);
    appUrl.username = login;
    const t = await startApi({ env: { DATABASE_APP_URL: appUrl.toString() } });
    try {
      const tenant = await createTenant(t);
      expect(tenant.id).toBeDefined();
      const dataSource = t.app.get(DataSource);
      const [who] = await dataSource.query(
        'SELECT session_user AS login, current_user AS role, (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS super',
      );
      expect(who).toEqual({ login, role: 'cp_app', super: false });
      const runner = dataSource.createQueryRunner();
      try {
        await runner.query('RESET ROLE');
        const [reset] = await runner.query(
          'SELECT current_user AS role, count(*)::int AS n FROM api_keys GROUP BY 1',
        );
        expect(reset ?? { n: 0 }).toMatchObject({ n: 0 });
        const [{ bypass }] = await runner.query(
          'SELECT rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user',
        );
        expect(bypass).toBe(false);
      } finally {
        await runner.query('SET ROLE cp_app');
        await runner.release();
      }
    } finally {
      await t.close();
      await owner.query(`DROP ROLE IF EXISTS "${login}"`);
      await owner.end();
    }
  });
});

describe('a busy database', () => {
  it('answers 503 with Retry-After, not 500, when no pooled connection frees up in time', async () => {
    const t = await startApi({ env: { DATABASE_POOL_SIZE: '1' } });
    try {
      const tenant = await createTenant(t);
      const key = (await createTenantKey(t, tenant.id, ['viewer'])).key;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      // Hold the only connection inside a transaction...
      const holder = t.app.get(TenantDb).inTenant(asTenantId(tenant.id), () => held);
      try {
        // ...so the request's authentication waits for the pool until it gives up (10 s).
        const res = await t.http.get('/v1/me').set('Authorization', `Bearer ${key}`).expect(503);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.body).toMatchObject({ code: 'service_unavailable', status: 503 });
      } finally {
        release();
        await holder;
      }
      await t.http.get('/v1/me').set('Authorization', `Bearer ${key}`).expect(200);
    } finally {
      await t.close();
    }
  }, 30_000);
});
