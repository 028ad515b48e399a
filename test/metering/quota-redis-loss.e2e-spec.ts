import { asTenantId } from '@app/authz';
import { RepeatableJobs } from '@app/core';
import { QuotaReservationService, QuotaStateUnavailable } from '@app/metering';
import {
  activeContract,
  bearer,
  createTenant,
  expectEventually,
  granted,
  hasRedisServer,
  platformAdminKey,
  PrivateRedis,
  quotaLines,
  recordUsage,
  startPrivateRedis,
  TestApp,
} from '@app/testing';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';

const admin = () => bearer(platformAdminKey());

/**
 * Redis is a cache of the ledger: these tests lose its data for real (FLUSHALL, a stopped
 * server) on a Redis of their own, since flushing the shared one would wipe every other test
 * worker's queues.
 */
if (!hasRedisServer()) {
  process.stderr.write(
    'quota-redis-loss: SKIPPED, no redis-server binary on the PATH to lose data on (CI has one)\n',
  );
}

(hasRedisServer() ? describe : describe.skip)('quota counters when Redis loses its data', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  let quotas: QuotaReservationService;
  let ingestKey: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = await startApi({ env: { REDIS_URL: redis.url } });
    quotas = t.app.get(QuotaReservationService);
    ingestKey = (
      await t.http
        .post('/v1/platform/api-keys')
        .set(admin())
        .send({ name: 'data plane', scopes: ['usage:write'] })
        .expect(201)
    ).body.key;
  });
  afterAll(async () => {
    await t.close();
    await redis.stop();
  });

  const reserve = (tenantId: string, metric: string, quantity: number) =>
    quotas.reserve({ tenantId: asTenantId(tenantId), metric: metric as never, quantity });
  const ledgerUsed = async (tenantId: string) =>
    (await quotaLines(t, tenantId)).map((line) => line.used);

  it('rebuilds counters from the ledger after a FLUSHALL in the middle of traffic', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 50_000, period: 'day', enforcement: 'hard' },
      { metric: 'total_tokens', limit: 40_000, period: 'term', enforcement: 'soft' },
    ]);
    // Usage that reached the ledger without a reservation.
    await recordUsage(t, tenant.id, [
      { metric: 'total_tokens', quantity: 1234, occurredAt: new Date(Date.now() - 1000) },
    ]);
    let flushed = false;
    let grantedUnits = 0;
    let committedUnits = 0;
    const client = async (n: number) => {
      for (let i = 0; i < 25; i += 1) {
        if (n === 0 && i === 10) {
          await redis.flushAll();
          flushed = true;
        }
        const size = 1 + Math.floor(Math.random() * 100);
        const r = await reserve(tenant.id, 'total_tokens', size);
        if (!r.granted) continue;
        grantedUnits += size;
        // Commit a little less than reserved, or release now and then.
        if (i % 7 === 3) await quotas.release(r.reservationId);
        else {
          const c = await quotas.commit(r.reservationId, Math.max(0, size - (i % 3)));
          committedUnits += c.quantity;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, n) => client(n)));
    expect(flushed).toBe(true);
    expect(grantedUnits).toBeGreaterThan(0);
    // The counters equal the ledger: a reservation reports exactly what quota status reads.
    const probe = granted(await reserve(tenant.id, 'total_tokens', 1));
    const [dayUsed, termUsed] = await ledgerUsed(tenant.id);
    // Every committed unit is in the ledger once, including reservations the flush forgot
    // (their commits come back late but still count).
    expect(dayUsed).toBe(committedUnits + 1234);
    expect(probe.lines.map((line) => line.used)).toEqual([BigInt(dayUsed), BigInt(termUsed)]);
    expect(dayUsed).toBeGreaterThan(1234);
    // The soft term line went over and is accounted as overage.
    const [, term] = await quotaLines(t, tenant.id);
    expect(term.overage).toBe(Math.max(0, termUsed - 40_000));
  }, 60_000);

  it('keeps the hard limit after a flush: rebuilt counters refuse what the ledger already used', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'requests', limit: 10, period: 'month', enforcement: 'hard' },
    ]);
    for (let i = 0; i < 6; i += 1) {
      await quotas.commit(granted(await reserve(tenant.id, 'requests', 1)).reservationId, 1);
    }
    await redis.flushAll();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => reserve(tenant.id, 'requests', 1)),
    );
    expect(results.filter((r) => r.granted)).toHaveLength(4);
  });

  it('fails closed on hard lines and open on soft ones while Redis is away, then recovers', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 1000, period: 'day', enforcement: 'hard' },
      { metric: 'gpu_hours', limit: 10, period: 'term', enforcement: 'soft' },
    ]);
    // Known before the outage: the plan is cached, so each line's enforcement is known.
    await quotas.commit(granted(await reserve(tenant.id, 'total_tokens', 100)).reservationId, 100);
    await quotas.release(granted(await reserve(tenant.id, 'gpu_hours', 1)).reservationId);
    await redis.stop();
    try {
      expect(await reserve(tenant.id, 'total_tokens', 1)).toMatchObject({
        granted: false,
        reason: 'quota_state_unavailable',
        line: { metric: 'total_tokens', enforcement: 'hard' },
      });
      const open = granted(await reserve(tenant.id, 'gpu_hours', 2));
      expect(open.untracked).toBe(true);
      // A metric no line covers is unlimited, Redis or not.
      expect(granted(await reserve(tenant.id, 'requests', 5)).untracked).toBe(true);
      // Ingestion cannot keep the counters equal to the ledger: 503, nothing written.
      const down = await t.http
        .post('/v1/usage/events')
        .set(bearer(ingestKey))
        .send({
          events: [
            {
              id: '3f0e1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b',
              tenantId: tenant.id,
              metric: 'total_tokens',
              quantity: 1,
              occurredAt: new Date(Date.now() - 1000).toISOString(),
            },
          ],
        })
        .expect(503);
      expect(down.body.code).toBe('quota_state_unavailable');
      // Its usage cannot be counted while Redis is away: the commit says so, and may be retried.
      await expect(quotas.commit(open.reservationId, 2)).rejects.toBeInstanceOf(
        QuotaStateUnavailable,
      );
    } finally {
      await redis.start();
    }
    // Redis is back, empty: counters are rebuilt from the ledger before anything is granted.
    const back = await expectEventually(async () =>
      granted(await reserve(tenant.id, 'total_tokens', 900)),
    );
    expect(back.lines[0]).toMatchObject({ used: 100n, remaining: 0n });
    expect((await reserve(tenant.id, 'total_tokens', 1)).granted).toBe(false);
  }, 30_000);

  it("puts the worker's job schedules back after Redis lost them", async () => {
    const worker = await startWorker({ env: { REDIS_URL: redis.url } });
    try {
      const jobs = worker.app.get(RepeatableJobs);
      expect(await jobs.restoreMissing()).toEqual([]);
      await redis.flushAll();
      const restored = await jobs.restoreMissing();
      expect(restored).toEqual(
        expect.arrayContaining(['quota-alerts', 'usage-partitions', 'contract-expiry']),
      );
      expect(await jobs.restoreMissing()).toEqual([]);
    } finally {
      await worker.close();
    }
  });
});
