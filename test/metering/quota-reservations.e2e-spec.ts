import { asTenantId } from '@app/authz';
import { QuotaReservationService, ReservationSettled, UnknownReservation } from '@app/metering';
import {
  activeContract,
  bearer,
  createTenant,
  granted,
  platformAdminKey,
  quotaLines,
  recordUsage,
  TestApp,
} from '@app/testing';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('quota reservations', () => {
  let t: TestApp;
  let quotas: QuotaReservationService;

  beforeAll(async () => {
    t = await startApi();
    quotas = t.app.get(QuotaReservationService);
  });
  afterAll(() => t.close());

  const tenantWith = async (lines: Parameters<typeof activeContract>[2], termStart?: Date) => {
    const tenant = await createTenant(t);
    const contractId = await activeContract(t, tenant.id, lines, termStart);
    return { tenantId: asTenantId(tenant.id), contractId };
  };
  const reserve = (tenantId: string, quantity: number, metric = 'total_tokens' as const) =>
    quotas.reserve({ tenantId: asTenantId(tenantId), metric, quantity });
  const quotaStatus = (tenantId: string) => quotaLines(t, tenantId);

  it('never grants more than a hard limit: 200 concurrent reservations of random sizes, 10 rounds', async () => {
    const limit = 10_000;
    for (let round = 0; round < 10; round += 1) {
      // A day line and a term line on one metric: one script checks both.
      const { tenantId } = await tenantWith([
        { metric: 'total_tokens', limit, period: 'day', enforcement: 'hard' },
        { metric: 'total_tokens', limit: limit * 10, period: 'term', enforcement: 'hard' },
      ]);
      const sizes = Array.from({ length: 200 }, () => 1 + Math.floor(Math.random() * 150));
      const results = await Promise.all(sizes.map((size) => reserve(tenantId, size)));
      const grantedTotal = sizes.reduce((sum, size, i) => sum + (results[i].granted ? size : 0), 0);
      expect(grantedTotal).toBeLessThanOrEqual(limit);
      // Nothing was refused that would have fitted: usage only grew during the round, so a
      // refused size must exceed what is left at its end.
      const left = limit - grantedTotal;
      sizes.forEach((size, i) => {
        const result = results[i];
        if (!result.granted) {
          expect(result.reason).toBe('quota_exceeded');
          expect(size).toBeGreaterThan(left);
        }
      });
      expect(grantedTotal).toBeGreaterThan(limit - 150);
    }
  }, 120_000);

  it('with one unit left, exactly one of 50 parallel reservations is granted', async () => {
    const { tenantId } = await tenantWith([
      { metric: 'requests', limit: 100, period: 'month', enforcement: 'hard' },
    ]);
    granted(await reserve(tenantId, 99, 'requests' as never));
    const results = await Promise.all(
      Array.from({ length: 50 }, () => reserve(tenantId, 1, 'requests' as never)),
    );
    expect(results.filter((r) => r.granted)).toHaveLength(1);
    const refusal = results.find((r) => !r.granted);
    expect(refusal).toMatchObject({
      granted: false,
      reason: 'quota_exceeded',
      line: { metric: 'requests', period: 'month', enforcement: 'hard', limit: 100 },
    });
    expect(refusal && !refusal.granted && refusal.retryAt).toBeInstanceOf(Date);
  });

  it('commits actual usage into the ledger once, and release gives units back', async () => {
    const { tenantId } = await tenantWith([
      { metric: 'total_tokens', limit: 1000, period: 'month', enforcement: 'hard' },
    ]);
    const first = granted(await reserve(tenantId, 600));
    expect(first.remaining).toBe(400n);
    expect(first.lines[0]).toMatchObject({ used: 0n, reserved: 600n, remaining: 400n });
    // 600 held: 500 more does not fit.
    expect((await reserve(tenantId, 500)).granted).toBe(false);
    const endpointId = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
    expect(await quotas.commit(first.reservationId, 250, { endpointId })).toEqual({
      status: 'committed',
      quantity: 250,
      late: false,
    });
    // A retried commit changes nothing, whatever quantity it names.
    expect(await quotas.commit(first.reservationId, 999)).toMatchObject({ quantity: 250 });
    const second = granted(await reserve(tenantId, 700));
    expect(second.lines[0]).toMatchObject({ used: 250n, reserved: 700n, remaining: 50n });
    expect(await quotas.release(second.reservationId)).toBe('released');
    expect(await quotas.release(second.reservationId)).toBe('released');
    await expect(quotas.commit(second.reservationId, 10)).rejects.toBeInstanceOf(
      ReservationSettled,
    );
    await expect(quotas.release(first.reservationId)).rejects.toBeInstanceOf(ReservationSettled);
    await expect(quotas.commit('qr_nonsense', 1)).rejects.toBeInstanceOf(UnknownReservation);
    await expect(quotas.commit(first.reservationId, -1)).rejects.toThrow(RangeError);
    await expect(reserve(tenantId, 0)).rejects.toThrow(RangeError);
    await expect(reserve(tenantId, 2 ** 53)).rejects.toThrow(RangeError);
    // The ledger holds the committed 250 once, on its endpoint; quota status reads it.
    expect((await quotaStatus(tenantId))[0]).toMatchObject({ used: 250, remaining: 750 });
    const usage = await t.http
      .get(`/v1/tenants/${tenantId}/usage`)
      .query({
        from: new Date(Date.now() - 3_600_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
        groupBy: 'endpoint',
      })
      .set(admin())
      .expect(200);
    expect(usage.body.data).toEqual([
      { metric: 'total_tokens', endpointId, quantity: 250, events: 1, overflow: false },
    ]);
    expect(granted(await reserve(tenantId, 750)).remaining).toBe(0n);
  });

  it('expires a reservation nobody settles; a late commit still counts its usage', async () => {
    const { tenantId } = await tenantWith([
      { metric: 'total_tokens', limit: 100, period: 'term', enforcement: 'hard' },
    ]);
    const held = granted(
      await quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 100, ttlMs: 200 }),
    );
    expect((await reserve(tenantId, 1)).granted).toBe(false);
    await sleep(300);
    // The next reservation expires the overdue one first.
    const next = granted(await reserve(tenantId, 60));
    expect(await quotas.commit(held.reservationId, 30)).toEqual({
      status: 'committed',
      quantity: 30,
      late: true,
    });
    expect(await quotas.release(next.reservationId)).toBe('released');
    expect((await quotaStatus(tenantId))[0]).toMatchObject({ used: 30, remaining: 70 });
    expect(granted(await reserve(tenantId, 70)).remaining).toBe(0n);
  });

  it('grants past a soft line and reports the overage; quota status accounts it', async () => {
    const { tenantId } = await tenantWith([
      { metric: 'gpu_hours', limit: 10, period: 'term', enforcement: 'soft' },
    ]);
    const within = granted(await reserve(tenantId, 8, 'gpu_hours' as never));
    expect(within.lines[0].overage).toBe(0n);
    expect(within.remaining).toBeNull();
    const over = granted(await reserve(tenantId, 5, 'gpu_hours' as never));
    expect(over.lines[0]).toMatchObject({ enforcement: 'soft', overage: 3n, remaining: 0n });
    await quotas.commit(within.reservationId, 8);
    await quotas.commit(over.reservationId, 5);
    expect((await quotaStatus(tenantId))[0]).toMatchObject({ used: 13, overage: 3, percent: 130 });
  });

  it('applies a contract amendment to the next reservation', async () => {
    const { tenantId, contractId } = await tenantWith([
      { metric: 'total_tokens', limit: 1000, period: 'month', enforcement: 'hard' },
    ]);
    granted(await reserve(tenantId, 900));
    expect((await reserve(tenantId, 200)).granted).toBe(false);
    await t.http
      .post(`/v1/tenants/${tenantId}/contracts/${contractId}/amendments`)
      .set(admin())
      .send({
        effectiveFrom: new Date().toISOString(),
        reason: 'more tokens',
        changes: {
          quotaLines: [
            { metric: 'total_tokens', limit: 2000, period: 'month', enforcement: 'hard' },
          ],
        },
      })
      .expect(201);
    expect(granted(await reserve(tenantId, 200)).remaining).toBe(900n);
  });

  it('refuses when no contract is in force, and lets uncovered metrics through', async () => {
    const bare = await createTenant(t);
    expect(await reserve(bare.id, 1)).toEqual({ granted: false, reason: 'no_contract_in_force' });
    const { tenantId } = await tenantWith([
      { metric: 'requests', limit: 1, period: 'day', enforcement: 'hard' },
    ]);
    const free = granted(await reserve(tenantId, 1_000_000));
    expect(free.lines).toEqual([]);
    expect(free.remaining).toBeNull();
  });

  it('counts usage ingested without a reservation against the loaded counters', async () => {
    const { tenantId } = await tenantWith([
      { metric: 'total_tokens', limit: 1000, period: 'day', enforcement: 'hard' },
    ]);
    await quotas.release(granted(await reserve(tenantId, 1)).reservationId); // loads the counter
    await recordUsage(t, tenantId, [
      { metric: 'total_tokens', quantity: 700, occurredAt: new Date(Date.now() - 1000) },
    ]);
    expect((await reserve(tenantId, 301)).granted).toBe(false);
    expect(granted(await reserve(tenantId, 300)).remaining).toBe(0n);
  });

  it('keeps usage before a period edge in the old period', async () => {
    // Daily periods start at the anchor's time of day: put the next edge 1.5 s from now.
    const edge = Date.now() + 1500;
    const { tenantId } = await tenantWith(
      [{ metric: 'requests', limit: 10, period: 'day', enforcement: 'hard' }],
      new Date(edge - 86_400_000),
    );
    const before = granted(await reserve(tenantId, 10, 'requests' as never));
    expect(before.lines[0].periodEnd?.getTime()).toBe(edge);
    expect((await reserve(tenantId, 1, 'requests' as never)).granted).toBe(false);
    await sleep(Math.max(0, edge - Date.now()) + 50);
    // Committed after the edge, the usage occurred before it: the new day starts empty.
    await quotas.commit(before.reservationId, 10);
    const after = granted(await reserve(tenantId, 10, 'requests' as never));
    expect(after.lines[0]).toMatchObject({ used: 0n, reserved: 10n });
    expect(after.lines[0].periodStart?.getTime()).toBe(edge);
    const [line] = await quotaStatus(tenantId);
    expect(line).toMatchObject({ used: 0, periodStart: new Date(edge).toISOString() });
  });
});
