import { asTenantId } from '@app/authz';
import { QuotaReservationService } from '@app/metering';
import { deployableTenant, TestApp } from '@app/testing';
import { GatewayQuota, InferenceUsage } from '../../apps/gateway/src/gateway-quota';
import { QuotaHoldPool, sizeFor } from '../../apps/gateway/src/quota-hold-pool';
import { startApi } from '../support/api';
import { startGateway } from '../support/gateway';

jest.setTimeout(120_000);

const NO_LIMITS = { id: 'warmup', rateLimits: null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const usage = (u: Partial<InferenceUsage>): InferenceUsage => ({
  input_tokens: 0,
  output_tokens: 0,
  total_tokens: 0,
  requests: 0,
  ...u,
});

/**
 * The quota hold pool's edges, driven through the gateway's GatewayQuota (real Redis and
 * reservation service, no model): several refused metrics, a key's rate limit on the retry, a
 * refill in flight during a drain, and shutdown with a refill in flight.
 */
describe('gateway quota hold pool: races and retries', () => {
  let api: TestApp;
  let gateway: TestApp;
  let quota: GatewayQuota;
  let pool: QuotaHoldPool;
  let reservations: QuotaReservationService;

  beforeAll(async () => {
    api = await startApi();
    // Pooled holds wait 10 s: only a drain or shutdown gives them back during a test.
    gateway = await startGateway({ env: { GATEWAY_QUOTA_POOL_MAX_AGE_MS: '10000' } });
    quota = gateway.app.get(GatewayQuota);
    pool = gateway.app.get(QuotaHoldPool);
    reservations = gateway.app.get(QuotaReservationService);
  });
  afterAll(async () => {
    await gateway?.close();
    await api?.close();
  });

  const tenantWith = (lines: { metric: string; limit: number }[]) =>
    deployableTenant(api, { lines: lines.map((l) => ({ ...l, enforcement: 'hard' as const })) });

  /** Serves `n` requests of `estimate` one after another, each committing its estimate. */
  async function warm(tenantId: string, estimate: InferenceUsage, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const { holds } = await quota.reserve(tenantId, estimate, NO_LIMITS);
      for (const [metric, id] of Object.entries(holds)) {
        await reservations.commit(id, estimate[metric as keyof InferenceUsage]);
      }
    }
    await sleep(300); // the last refill stocked
  }
  /** Whether `quantity` more units of `metric` can be reserved now (given back at once). */
  async function fits(tenantId: string, metric: 'input_tokens' | 'total_tokens', quantity: number) {
    const r = await reservations.reserve({ tenantId: asTenantId(tenantId), metric, quantity });
    if (r.granted) await reservations.release(r.reservationId);
    return r.granted;
  }
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'granted',
      (error: { code?: string; status?: number }) => error.code ?? `error ${error.status}`,
    );

  it('sizes a pooled hold at least its estimate, however large', () => {
    for (const q of [1, 2, 3, 1000, 1024, 1025, 2 ** 49 + 1, 2 ** 50 + 1, 2 ** 52 + 1]) {
      expect(sizeFor(q)).toBeGreaterThanOrEqual(q);
      expect(sizeFor(q)).toBeLessThan(2 * q);
    }
  });

  it('drains the pools of every metric refused, not only the first', async () => {
    const N = 10;
    const tenantId = await tenantWith([
      { metric: 'input_tokens', limit: 10 * N + 500 },
      { metric: 'total_tokens', limit: 10 * N + 600 },
    ]);
    await warm(tenantId, usage({ input_tokens: 10, total_tokens: 10 }), N);
    // Exactly what is left of both lines: fits once both metrics' parked units are back.
    expect(await fits(tenantId, 'input_tokens', 500)).toBe(false);
    expect(await fits(tenantId, 'total_tokens', 600)).toBe(false);
    const big = usage({ input_tokens: 500, output_tokens: 100, total_tokens: 600 });
    expect(await outcome(quota.reserve(tenantId, big, NO_LIMITS))).toBe('granted');
  });

  it("counts a request retried after a drain once in its key's requests-per-minute window", async () => {
    const N = 10;
    const tenantId = await tenantWith([{ metric: 'total_tokens', limit: 10 * N + 600 }]);
    await warm(tenantId, usage({ total_tokens: 10 }), N);
    expect(await fits(tenantId, 'total_tokens', 600)).toBe(false);
    const key = { id: 'one-a-minute', rateLimits: { requestsPerMinute: 1 } };
    // The key's first request of the minute, fitting once the parked units are back.
    expect(
      await outcome(quota.reserve(tenantId, usage({ total_tokens: 600, requests: 1 }), key)),
    ).toBe('granted');
  });

  it('does not let a refill in flight during a drain take back the room the drain made', async () => {
    const N = 10;
    const tenantId = await tenantWith([{ metric: 'total_tokens', limit: 10 * N + 1000 }]);
    await warm(tenantId, usage({ total_tokens: 10 }), N);
    const parked = () =>
      (pool as unknown as { pools: Map<string, { holds: unknown[] }> }).pools.get(
        `${tenantId}|total_tokens|16`,
      )?.holds.length ?? 0;
    const h = parked();
    expect(h).toBeGreaterThanOrEqual(4);
    // Requests in flight take all but three of the parked holds (a refill starts)…
    const taken: string[] = [];
    for (let i = 0; i < h - 3; i++) taken.push(pool.take(tenantId, 'total_tokens', 10)!);
    // …and in the same turn one asks exactly what is left once the other three are back.
    const rest = 1000 - 16 * (h - 3);
    const big = outcome(quota.reserve(tenantId, usage({ total_tokens: rest }), NO_LIMITS));
    expect(await big).toBe('granted');
    await Promise.all(taken.map((id) => reservations.release(id)));
  });

  it('gives back, at shutdown, the holds of a refill still in flight', async () => {
    const N = 10;
    const LIMIT = 10 * N + 1000;
    const tenantId = await tenantWith([{ metric: 'total_tokens', limit: LIMIT }]);
    const second = await startGateway({ env: { GATEWAY_QUOTA_POOL_MAX_AGE_MS: '10000' } });
    const secondPool = second.app.get(QuotaHoldPool);
    const secondQuota = second.app.get(GatewayQuota);
    const secondReservations = second.app.get(QuotaReservationService);
    for (let i = 0; i < N; i++) {
      const { holds } = await secondQuota.reserve(tenantId, usage({ total_tokens: 10 }), NO_LIMITS);
      await secondReservations.commit(holds.total_tokens!, 10);
    }
    // Take every parked hold (a refill starts), then shut down at once.
    const taken: string[] = [];
    for (let id; (id = secondPool.take(tenantId, 'total_tokens', 10));) taken.push(id);
    await Promise.all(taken.map((id) => secondReservations.release(id)));
    const inFlight: string[] = [];
    for (let id; (id = secondPool.take(tenantId, 'total_tokens', 10));) inFlight.push(id);
    await second.close();
    await Promise.all(inFlight.map((id) => reservations.release(id)));
    await sleep(500);
    expect(await fits(tenantId, 'total_tokens', 1000)).toBe(true);
  });
});
