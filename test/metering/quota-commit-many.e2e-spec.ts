import { asTenantId } from '@app/authz';
import {
  CommitOutcome,
  QuotaReservationService,
  ReservationSettled,
  UnknownReservation,
  UsageIngestionService,
} from '@app/metering';
import { activeContract, createTenant, granted, quotaLines, TestApp } from '@app/testing';
import { startApi } from '../support/api';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('quota reservations: batched commits', () => {
  let t: TestApp;
  let quotas: QuotaReservationService;
  let ingestion: UsageIngestionService;

  beforeAll(async () => {
    t = await startApi();
    quotas = t.app.get(QuotaReservationService);
    ingestion = t.app.get(UsageIngestionService);
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  const tenantWith = async (limit: number) => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit, period: 'term', enforcement: 'hard' },
    ]);
    return asTenantId(tenant.id);
  };
  const reserve = (tenantId: string, quantity: number, ttlMs?: number) =>
    quotas.reserve({ tenantId: asTenantId(tenantId), metric: 'total_tokens', quantity, ttlMs });
  const used = async (tenantId: string) => (await quotaLines(t, tenantId))[0].used;
  const committed = (outcome: CommitOutcome) => {
    if (outcome.status === 'failed') throw outcome.error;
    return outcome;
  };

  it('commits 200 reservations in one call: one Redis settle call (script runs of at most 32) and one ingestion call, ledger = counters = actuals', async () => {
    const tenantId = await tenantWith(100_000);
    const sizes = Array.from({ length: 200 }, () => 1 + Math.floor(Math.random() * 200));
    const held = (await Promise.all(sizes.map((size) => reserve(tenantId, size)))).map(granted);
    const actuals = sizes.map((size, i) => (i % 10 === 0 ? 0 : Math.max(0, size - (i % 3))));
    const total = actuals.reduce((sum, n) => sum + n, 0);
    const record = jest.spyOn(ingestion, 'recordChecked');
    const settle = jest.spyOn(quotas['redis'], 'commitMany');
    const outcomes = await quotas.commitMany(
      held.map((r, i) => ({ reservationId: r.reservationId, actualQuantity: actuals[i] })),
    );
    expect(outcomes).toEqual(
      actuals.map((quantity) => ({ status: 'committed', quantity, late: false })),
    );
    expect(settle).toHaveBeenCalledTimes(1);
    expect(record).toHaveBeenCalledTimes(1);
    // Zero-quantity commits record no event.
    expect(record.mock.calls[0][0]).toHaveLength(actuals.filter((n) => n > 0).length);
    // The ledger holds the sum of actuals; the Redis counters agree (nothing left reserved).
    expect(await used(tenantId)).toBe(total);
    const next = granted(await reserve(tenantId, 1));
    expect(next.lines[0]).toMatchObject({ used: BigInt(total), reserved: 1n });
    expect(granted(await reserve(tenantId, 100_000 - total - 1)).remaining).toBe(0n);
  });

  it('answers each item on its own: released, unknown, forged, bad quantity or details, late', async () => {
    const tenantId = await tenantWith(10_000);
    const [ok, released, badDetails, expiring] = await Promise.all([
      reserve(tenantId, 100).then(granted),
      reserve(tenantId, 100).then(granted),
      reserve(tenantId, 100).then(granted),
      reserve(tenantId, 100, 100).then(granted),
    ]);
    await quotas.release(released.reservationId);
    await sleep(200);
    const forged = ok.reservationId.replace(/~[0-9a-f]{32}$/, `~${'0'.repeat(32)}`);
    const outcomes = await quotas.commitMany([
      { reservationId: ok.reservationId, actualQuantity: 50 },
      { reservationId: released.reservationId, actualQuantity: 50 },
      { reservationId: 'qr_nonsense', actualQuantity: 50 },
      { reservationId: forged, actualQuantity: 50 },
      { reservationId: ok.reservationId, actualQuantity: -1 },
      { reservationId: badDetails.reservationId, actualQuantity: 5, details: { endpointId: 'x' } },
      { reservationId: expiring.reservationId, actualQuantity: 70 },
    ]);
    expect(outcomes[0]).toEqual({ status: 'committed', quantity: 50, late: false });
    expect(outcomes[1]).toMatchObject({ status: 'failed', error: expect.any(ReservationSettled) });
    expect(outcomes[2]).toMatchObject({ status: 'failed', error: expect.any(UnknownReservation) });
    expect(outcomes[3]).toMatchObject({ status: 'failed', error: expect.any(UnknownReservation) });
    expect(outcomes[4]).toMatchObject({ status: 'failed', error: expect.any(RangeError) });
    expect(outcomes[5]).toMatchObject({ status: 'failed', error: expect.any(RangeError) });
    expect(outcomes[6]).toEqual({ status: 'committed', quantity: 70, late: true });
    // Refused details settle nothing: the reservation is still open and commits once fixed.
    expect(
      committed(
        (
          await quotas.commitMany([{ reservationId: badDetails.reservationId, actualQuantity: 5 }])
        )[0],
      ),
    ).toMatchObject({ quantity: 5, late: false });
    expect(await used(tenantId)).toBe(125);
    await expect(quotas.commitMany({} as never)).rejects.toThrow(RangeError);
  });

  it('records nothing twice when a whole call is retried, or an item repeated', async () => {
    const tenantId = await tenantWith(10_000);
    const held = (await Promise.all([10, 20, 30].map((n) => reserve(tenantId, n)))).map(granted);
    const items = held.map((r, i) => ({
      reservationId: r.reservationId,
      actualQuantity: 5 * (i + 1),
    }));
    const first = await quotas.commitMany([...items, items[0]]);
    expect(first.map((o) => committed(o).quantity)).toEqual([5, 10, 15, 5]);
    // A retry answers with the first quantities, whatever it names now.
    const retried = await quotas.commitMany(
      items.map((item) => ({ ...item, actualQuantity: 999 })),
    );
    expect(retried).toEqual(
      [5, 10, 15].map((quantity) => ({ status: 'committed', quantity, late: false })),
    );
    expect(await used(tenantId)).toBe(30);
    expect(granted(await reserve(tenantId, 1)).lines[0]).toMatchObject({ used: 30n, reserved: 1n });
  });

  it('commits several tenants in one call, one transaction and ingestion call each', async () => {
    const [a, b] = await Promise.all([tenantWith(1000), tenantWith(1000)]);
    const held = await Promise.all([
      reserve(a, 10).then(granted),
      reserve(b, 20).then(granted),
      reserve(a, 30).then(granted),
    ]);
    const record = jest.spyOn(ingestion, 'recordChecked');
    const outcomes = await quotas.commitMany(
      held.map((r) => ({ reservationId: r.reservationId, actualQuantity: 7 })),
    );
    expect(outcomes.map((o) => committed(o).quantity)).toEqual([7, 7, 7]);
    expect(record).toHaveBeenCalledTimes(2);
    expect(await used(a)).toBe(14);
    expect(await used(b)).toBe(7);
  });

  it('settles ids it granted without reading them again; any other id by its MAC', async () => {
    const tenantId = await tenantWith(10_000);
    const held = (await Promise.all([10, 20, 30].map((n) => reserve(tenantId, n)))).map(granted);
    const issued: Map<string, unknown> = quotas['issued'];
    for (const r of held) expect(issued.has(r.reservationId)).toBe(true);
    // As if another replica had granted the second: its id is read and its MAC checked.
    issued.delete(held[1].reservationId);
    const forged = held[2].reservationId.replace(/~[0-9a-f]{32}$/, `~${'0'.repeat(32)}`);
    const outcomes = await quotas.commitMany([
      { reservationId: held[0].reservationId, actualQuantity: 1 },
      { reservationId: held[1].reservationId, actualQuantity: 2 },
      { reservationId: forged, actualQuantity: 3 },
      { reservationId: held[2].reservationId, actualQuantity: 3 },
    ]);
    expect(outcomes[0]).toEqual({ status: 'committed', quantity: 1, late: false });
    expect(outcomes[1]).toEqual({ status: 'committed', quantity: 2, late: false });
    expect(outcomes[2]).toMatchObject({ status: 'failed', error: expect.any(UnknownReservation) });
    expect(outcomes[3]).toEqual({ status: 'committed', quantity: 3, late: false });
    for (const r of held) expect(issued.has(r.reservationId)).toBe(false);
    // A retry (read again, since settled ids are forgotten) answers the same.
    expect(
      committed(
        (await quotas.commitMany([{ reservationId: held[0].reservationId, actualQuantity: 9 }]))[0],
      ),
    ).toMatchObject({ quantity: 1 });
    expect(await used(tenantId)).toBe(6);
  });

  it('checks details shared by several items once, each item recording its own event', async () => {
    const tenantId = await tenantWith(10_000);
    const held = (await Promise.all([10, 20, 30].map((n) => reserve(tenantId, n)))).map(granted);
    const details = {
      endpointId: '00000000-0000-4000-8000-000000000001',
      attributes: { model: 'm' },
    };
    const check = jest.spyOn(ingestion, 'check');
    const record = jest.spyOn(ingestion, 'recordChecked');
    const outcomes = await quotas.commitMany(
      held.map((r, i) => ({ reservationId: r.reservationId, actualQuantity: i + 1, details })),
    );
    expect(outcomes.map((o) => committed(o).quantity)).toEqual([1, 2, 3]);
    expect(check).toHaveBeenCalledTimes(1);
    const events = record.mock.calls[0][0];
    expect(events.map((e) => e.quantity)).toEqual([1, 2, 3]);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    for (const event of events) {
      expect(event).toMatchObject({
        tenantId,
        metric: 'total_tokens',
        endpointId: details.endpointId,
        attributesJson: '{"model":"m"}',
      });
    }
    // Bad details shared by several items fail each of them, and settle none.
    const more = (await Promise.all([1, 2].map((n) => reserve(tenantId, n)))).map(granted);
    const bad = { endpointId: 'x' };
    const refused = await quotas.commitMany(
      more.map((r) => ({ reservationId: r.reservationId, actualQuantity: 1, details: bad })),
    );
    for (const outcome of refused) {
      expect(outcome).toMatchObject({ status: 'failed', error: expect.any(RangeError) });
    }
    expect(await used(tenantId)).toBe(6);
  });
});
