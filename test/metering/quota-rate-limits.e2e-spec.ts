import { asTenantId, TenantId } from '@app/authz';
import {
  QuotaReservationService,
  RATE_LIMIT_WINDOW_MS,
  RateLimitRequest,
  Reservation,
} from '@app/metering';
import { activeContract, createTenant, expectEventually, granted, TestApp } from '@app/testing';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

/** An hour: long enough that no test straddles a window edge (a reset would make it flaky). */
const STEADY_WINDOW_MS = 3_600_000;

describe('quota reservations: per-key rate limits', () => {
  let t: TestApp;
  let quotas: QuotaReservationService;

  beforeAll(async () => {
    t = await startApi();
    quotas = t.app.get(QuotaReservationService);
    expect(quotas.rateLimitWindowMs).toBe(RATE_LIMIT_WINDOW_MS);
    quotas.rateLimitWindowMs = STEADY_WINDOW_MS;
  });
  afterAll(() => t.close());

  const tenantWith = async (lines: Parameters<typeof activeContract>[2]) => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, lines);
    return asTenantId(tenant.id);
  };
  /** A contract whose only line is on another metric: tokens and requests are unlimited. */
  const unlimitedTenant = () =>
    tenantWith([{ metric: 'gpu_hours', limit: 10, period: 'term', enforcement: 'soft' }]);
  const reserve = (
    tenantId: TenantId,
    quantity: number,
    rateLimit: Omit<RateLimitRequest, 'requests' | 'tokens'> & Partial<RateLimitRequest>,
  ) =>
    quotas.reserve({
      tenantId,
      metric: 'total_tokens',
      quantity,
      rateLimit: { requests: 1, tokens: quantity, ...rateLimit },
    });
  const refusal = (reservation: Reservation) => {
    if (reservation.granted) throw new Error('granted, expected a refusal');
    return reservation;
  };

  it('refuses the N+1th request of a window, with the limit and when the window frees', async () => {
    const tenantId = await unlimitedTenant();
    const key = randomUUID();
    for (let n = 1; n <= 5; n += 1) {
      const r = granted(await reserve(tenantId, 10, { key, requestsPerMinute: 5 }));
      expect(r.rateLimit).toMatchObject({
        requestsPerMinute: 5,
        tokensPerMinute: null,
        requests: n,
        tokens: 10 * n,
        requestsRemaining: 5 - n,
        tokensRemaining: null,
      });
    }
    const refused = refusal(await reserve(tenantId, 10, { key, requestsPerMinute: 5 }));
    expect(refused).toMatchObject({
      reason: 'rate_limited',
      limit: 'requests_per_minute',
      rateLimit: { requests: 5, requestsRemaining: 0 },
    });
    // Fixed windows: it frees exactly at the window's end.
    const retryAt = refused.retryAt!.getTime();
    expect(retryAt % STEADY_WINDOW_MS).toBe(0);
    expect(retryAt).toBeGreaterThan(Date.now());
    expect(refused.rateLimit!.resetAt.getTime()).toBe(retryAt);
    // Another key of the same tenant has windows of its own.
    granted(await reserve(tenantId, 10, { key: randomUUID(), requestsPerMinute: 5 }));
    // Neither limit set: unlimited, nothing counted.
    const free = granted(await reserve(tenantId, 10, { key, requestsPerMinute: null }));
    expect(free.rateLimit).toBeUndefined();
  });

  it('refuses tokens per minute beyond the limit, and never-fitting reservations without retryAt', async () => {
    const tenantId = await unlimitedTenant();
    const key = randomUUID();
    const limits = { key, tokensPerMinute: 1000, requestsPerMinute: 100 };
    granted(await reserve(tenantId, 600, limits));
    const refused = refusal(await reserve(tenantId, 500, limits));
    expect(refused).toMatchObject({
      reason: 'rate_limited',
      limit: 'tokens_per_minute',
      rateLimit: { tokens: 600, tokensRemaining: 400, requests: 1 },
    });
    expect(refused.retryAt).toBeInstanceOf(Date);
    expect(granted(await reserve(tenantId, 400, limits)).rateLimit).toMatchObject({
      tokens: 1000,
      tokensRemaining: 0,
      requests: 2,
    });
    const fresh = randomUUID();
    const never = refusal(await reserve(tenantId, 1001, { key: fresh, tokensPerMinute: 1000 }));
    expect(never).toMatchObject({ reason: 'rate_limited', limit: 'tokens_per_minute' });
    expect(never.retryAt).toBeNull();
  });

  it('holds no quota and counts nothing for a reservation it refuses', async () => {
    const tenantId = await tenantWith([
      { metric: 'total_tokens', limit: 1000, period: 'month', enforcement: 'hard' },
    ]);
    const key = randomUUID();
    granted(await reserve(tenantId, 100, { key, requestsPerMinute: 1, tokensPerMinute: 10_000 }));
    expect(
      refusal(await reserve(tenantId, 900, { key, requestsPerMinute: 1, tokensPerMinute: 10_000 })),
    ).toMatchObject({ reason: 'rate_limited', limit: 'requests_per_minute' });
    // The refused 900 holds nothing: all of it is still there for a request without the key.
    const rest = granted(await quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 900 }));
    expect(rest.remaining).toBe(0n);
    await quotas.release(rest.reservationId);
    // And counted nothing: a higher limit now sees one request and 100 tokens before this one.
    expect(
      granted(await reserve(tenantId, 1, { key, requestsPerMinute: 2 })).rateLimit,
    ).toMatchObject({ requests: 2, tokens: 101 });
  });

  it('answers quota_exceeded before rate_limited, counting nothing', async () => {
    const tenantId = await tenantWith([
      { metric: 'total_tokens', limit: 100, period: 'month', enforcement: 'hard' },
    ]);
    const key = randomUUID();
    expect(refusal(await reserve(tenantId, 101, { key, requestsPerMinute: 1 }))).toMatchObject({
      reason: 'quota_exceeded',
    });
    expect(
      granted(await reserve(tenantId, 10, { key, requestsPerMinute: 1 })).rateLimit,
    ).toMatchObject({ requests: 1 });
  });

  /** Half in this turn (one script run), half spread over later turns (runs of their own). */
  const concurrently = (sizes: number[], reserveOne: (size: number) => Promise<Reservation>) =>
    Promise.all(
      sizes.map((size, i) =>
        i % 2 === 0
          ? reserveOne(size)
          : new Promise<Reservation>((resolve, reject) =>
              setTimeout(() => reserveOne(size).then(resolve, reject), i % 7),
            ),
      ),
    );

  it('grants exactly N of 200 concurrent requests, within a batch and across batches', async () => {
    const tenantId = await unlimitedTenant();
    const limits = { key: randomUUID(), requestsPerMinute: 50 };
    const results = await concurrently(Array(200).fill(10), (size) =>
      reserve(tenantId, size, limits),
    );
    expect(results.filter((r) => r.granted)).toHaveLength(50);
    for (const r of results) {
      if (!r.granted) expect(r).toMatchObject({ limit: 'requests_per_minute' });
    }
  });

  it('never grants more tokens per minute than the limit under concurrency', async () => {
    const tenantId = await unlimitedTenant();
    const limits = { key: randomUUID(), tokensPerMinute: 5_000 };
    const sizes = Array.from({ length: 200 }, () => 1 + Math.floor(Math.random() * 100));
    const results = await concurrently(sizes, (size) => reserve(tenantId, size, limits));
    const tokens = sizes.reduce((sum, size, i) => sum + (results[i].granted ? size : 0), 0);
    expect(tokens).toBeLessThanOrEqual(5_000);
    // Nothing refused that would have fitted: a refused size exceeds what is left at the end.
    sizes.forEach((size, i) => {
      if (!results[i].granted) {
        expect(results[i]).toMatchObject({ limit: 'tokens_per_minute' });
        expect(size).toBeGreaterThan(5_000 - tokens);
      }
    });
  });

  it('starts counting again when the window ends', async () => {
    const tenantId = await unlimitedTenant();
    const key = randomUUID();
    quotas.rateLimitWindowMs = 1_000;
    try {
      const limits = { key, requestsPerMinute: 2 };
      // Begin just after a window edge, so the two grants share one window.
      await expectEventually(() => expect(Date.now() % 1_000).toBeLessThan(300), {
        intervalMs: 10,
      });
      granted(await reserve(tenantId, 1, limits));
      granted(await reserve(tenantId, 1, limits));
      const refused = refusal(await reserve(tenantId, 1, limits));
      expect(refused.retryAt!.getTime() % 1_000).toBe(0);
      // Refusals count nothing, so polling does not hold the window shut.
      const next = await expectEventually(async () => granted(await reserve(tenantId, 1, limits)), {
        timeoutMs: 5_000,
      });
      expect(Date.now()).toBeGreaterThanOrEqual(refused.retryAt!.getTime());
      expect(next.rateLimit).toMatchObject({ requests: 1, requestsRemaining: 1 });
    } finally {
      quotas.rateLimitWindowMs = STEADY_WINDOW_MS;
    }
  });

  it('trues tokens per minute up to the actual usage on commit, and back down on release', async () => {
    const tenantId = await unlimitedTenant();
    const key = randomUUID();
    const limits = { key, tokensPerMinute: 1000 };
    const estimate = granted(await reserve(tenantId, 800, limits));
    expect((await reserve(tenantId, 300, limits)).granted).toBe(false);
    await quotas.commit(estimate.reservationId, 100);
    // The window now counts the 100 used, not the 800 estimated.
    const big = granted(await reserve(tenantId, 900, limits));
    expect(big.rateLimit).toMatchObject({ tokens: 1000, requests: 2 });
    expect(await quotas.release(big.reservationId)).toBe('released');
    // A released reservation used no tokens (its request still counts).
    expect(granted(await reserve(tenantId, 900, limits)).rateLimit).toMatchObject({
      tokens: 1000,
      requests: 3,
    });
  });

  it('counts actual usage above the estimate once, however often the commit is retried', async () => {
    const tenantId = await unlimitedTenant();
    const key = randomUUID();
    const limits = { key, tokensPerMinute: 500 };
    const small = granted(await reserve(tenantId, 1, limits));
    await quotas.commit(small.reservationId, 400);
    await quotas.commit(small.reservationId, 400);
    expect(granted(await reserve(tenantId, 100, limits)).rateLimit).toMatchObject({ tokens: 500 });
    expect(refusal(await reserve(tenantId, 1, limits))).toMatchObject({
      limit: 'tokens_per_minute',
    });
  });

  it("refuses a caller's malformed rate limit with RangeError", async () => {
    const tenantId = await unlimitedTenant();
    const bad: unknown[] = [
      { key: 'a.b', requestsPerMinute: 1, requests: 1, tokens: 0 },
      { key: '', requestsPerMinute: 1, requests: 1, tokens: 0 },
      { key: 'k', requestsPerMinute: 0, requests: 1, tokens: 0 },
      { key: 'k', tokensPerMinute: 1.5, requests: 1, tokens: 0 },
      { key: 'k', requestsPerMinute: 1, requests: -1, tokens: 0 },
      { key: 'k', requestsPerMinute: 1, requests: 1 },
      null,
    ];
    for (const rateLimit of bad) {
      await expect(
        quotas.reserve({
          tenantId,
          metric: 'total_tokens',
          quantity: 1,
          rateLimit: rateLimit as RateLimitRequest,
        }),
      ).rejects.toThrow(RangeError);
    }
    // Tokens can only be trued up on a token metric.
    await expect(
      quotas.reserve({
        tenantId,
        metric: 'requests',
        quantity: 1,
        rateLimit: { key: 'k', requestsPerMinute: 1, requests: 1, tokens: 5 },
      }),
    ).rejects.toThrow(/token metric/);
    granted(
      await quotas.reserve({
        tenantId,
        metric: 'requests',
        quantity: 1,
        rateLimit: { key: 'k', requestsPerMinute: 1, requests: 1, tokens: 0 },
      }),
    );
  });
});
