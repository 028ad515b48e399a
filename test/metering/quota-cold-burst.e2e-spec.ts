import { asTenantId, TenantDb } from '@app/authz';
import { QuotaReservationService } from '@app/metering';
import { activeContract, createTenant, TestApp } from '@app/testing';
import { startApi } from '../support/api';

/**
 * A burst of reservations for a tenant whose counters are not loaded yet (a new period, a
 * restarted Redis), each made inside a request's transaction, as the api's reserving routes do
 * (endpoints, fine-tuning): every one holds a connection of the main pool while it waits for
 * the counters' rebuild, so the rebuild runs on the reserved pool (TenantDb `reserved`). With a
 * main pool of 3 and 12 such requests, all are decided, none fails for want of a connection.
 */
describe('quota reservations: a cold-counter burst larger than the database pool', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApi({ env: { DATABASE_POOL_SIZE: '3' } });
  });
  afterAll(() => t.close());

  it('decides every request: the rebuild never waits behind the requests that wait for it', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 1_000, period: 'day', enforcement: 'hard' },
    ]);
    const db = t.app.get(TenantDb);
    const quotas = t.app.get(QuotaReservationService);
    const tenantId = asTenantId(tenant.id);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        db.run({ kind: 'tenant', tenantId }, () =>
          quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 100 }),
        ),
      ),
    );
    // 1,000 tokens a day: ten requests of 100 fit, two are refused for the quota, not for the
    // quota state.
    expect(results.filter((r) => r.granted)).toHaveLength(10);
    expect(results.filter((r) => !r.granted).map((r) => !r.granted && r.reason)).toEqual([
      'quota_exceeded',
      'quota_exceeded',
    ]);
    // Well under the pool's 10 s wait for a connection, which the old way ran into.
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});
