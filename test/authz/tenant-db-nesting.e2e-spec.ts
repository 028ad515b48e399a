import { asTenantId, TenantDb } from '@app/authz';
import { createTenant, TestApp } from '@app/testing';
import { ClsService } from 'nestjs-cls';
import { startApi } from '../support/api';

/**
 * A transaction started inside another (a service's own unit of work during a request) must
 * leave the outer one current: nestjs-cls gives the inner one a shallow copy of the context, and
 * the `authz.*` values live in one nested object, which the inner transaction once cleared for
 * both when it ended.
 */
describe('TenantDb nested transactions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps the outer transaction, its scope and its hooks current after a nested one ends', async () => {
    const tenant = await createTenant(t);
    const db = t.app.get(TenantDb);
    const outer = { kind: 'tenant' as const, tenantId: asTenantId(tenant.id) };
    const seen: string[] = [];
    await db.run(outer, async () => {
      const manager = db.manager;
      await db.run({ kind: 'platform', reason: 'nested test' }, async () => {
        expect(db.scope).toMatchObject({ kind: 'platform' });
        expect(db.manager).not.toBe(manager);
      });
      expect(db.scope).toEqual(outer);
      expect(db.manager).toBe(manager);
      db.afterRollback(() => seen.push('rollback'));
      db.afterCommit(() => seen.push('commit'));
    });
    expect(seen).toEqual(['commit']);
  });

  it('keeps concurrent transactions started from one context on their own connections', async () => {
    const [a, b] = [await createTenant(t), await createTenant(t)];
    const db = t.app.get(TenantDb);
    const work = (tenantId: string) =>
      db.run({ kind: 'tenant', tenantId: asTenantId(tenantId) }, async () => {
        for (let i = 0; i < 5; i++) {
          const [{ tenant }] = await db.manager.query(
            `SELECT current_setting('app.tenant_id') AS tenant, pg_sleep(0.01)`,
          );
          expect(tenant).toBe(tenantId);
          expect(db.scope).toMatchObject({ tenantId });
        }
      });
    // One shared context, as when a request sets off several units of work at once.
    await t.app.get(ClsService).run(() => Promise.all([work(a.id), work(b.id), work(a.id)]));
  });
});
