import { asTenantId, TenantDb, TenantOffboarded } from '@app/authz';
import { QuotaReservationService, UnknownReservation, UsageIngestionService } from '@app/metering';
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
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Cases found by trying to break metering (each once a defect). */
describe('quota reservations: edge cases', () => {
  let t: TestApp;
  let quotas: QuotaReservationService;
  beforeAll(async () => {
    t = await startApi();
    quotas = t.app.get(QuotaReservationService);
  });
  afterAll(() => t.close());

  const reserve = (tenantId: string, quantity: number, metric = 'total_tokens') =>
    quotas.reserve({ tenantId: asTenantId(tenantId), metric: metric as never, quantity });
  const used = async (tenantId: string) => (await quotaLines(t, tenantId)).map((line) => line.used);

  it('refuses ids it never issued: a well-formed id with a forged signature records nothing', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 1000, period: 'term', enforcement: 'hard' },
    ]);
    const real = granted(await reserve(tenant.id, 10)).reservationId;
    const forged = real.replace(/~[0-9a-f]{32}$/, `~${'0'.repeat(32)}`);
    await expect(quotas.commit(forged, 999)).rejects.toBeInstanceOf(UnknownReservation);
    const invented = `qr_${tenant.id.replace(/-/g, '')}.total_tokens.${Date.now()}.${randomUUID().replace(/-/g, '')}.5~${'a'.repeat(32)}`;
    await expect(quotas.commit(invented, 1000)).rejects.toBeInstanceOf(UnknownReservation);
    await expect(quotas.release(invented)).rejects.toBeInstanceOf(UnknownReservation);
    expect(await used(tenant.id)).toEqual([0]);
  });

  it('applies a first contract at once, although "no contract" was cached a moment before', async () => {
    const tenant = await createTenant(t);
    expect(await reserve(tenant.id, 1)).toEqual({ granted: false, reason: 'no_contract_in_force' });
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 100, period: 'term', enforcement: 'hard' },
    ]);
    expect((await reserve(tenant.id, 1)).granted).toBe(true);
  });

  it("refuses a caller's bad request with RangeError, without failing the rest of its batch", async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 100, period: 'term', enforcement: 'hard' },
    ]);
    const tenantId = asTenantId(tenant.id);
    const results = await Promise.allSettled([
      quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 1 }),
      quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 1, ttlMs: Number.NaN }),
      quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 1, ttlMs: Infinity }),
      quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 1, ttlMs: -5 }),
      quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 1, ttlMs: 86_400_001 }),
      quotas.reserve({ tenantId: 'not-a-uuid' as never, metric: 'total_tokens', quantity: 1 }),
      quotas.reserve({ tenantId, metric: 'tokens' as never, quantity: 1 }),
      quotas.reserve({ tenantId, metric: 'total_tokens', quantity: 1 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RangeError);
      else expect(r.value.granted).toBe(true);
    }
  });

  it('treats an upper-case tenant id as the same tenant (one set of counters)', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 100, period: 'term', enforcement: 'hard' },
    ]);
    const upper = granted(await reserve(tenant.id.toUpperCase(), 100));
    expect((await reserve(tenant.id, 1)).granted).toBe(false);
    expect(await quotas.commit(upper.reservationId, 100)).toMatchObject({ late: false });
    expect(await used(tenant.id)).toEqual([100]);
  });

  it('answers every retry of a late commit with the first late quantity', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 1000, period: 'term', enforcement: 'hard' },
    ]);
    const held = granted(
      await quotas.reserve({
        tenantId: asTenantId(tenant.id),
        metric: 'total_tokens',
        quantity: 100,
        ttlMs: 100,
      }),
    );
    await sleep(200);
    expect(await quotas.commit(held.reservationId, 90)).toMatchObject({ quantity: 90, late: true });
    expect(await quotas.commit(held.reservationId, 7)).toMatchObject({ quantity: 90, late: true });
    expect(await used(tenant.id)).toEqual([90]);
  });

  it('keeps a level from going below zero for enforcement (more removals than additions)', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'dedicated_endpoints', limit: 2, period: 'term', enforcement: 'hard' },
    ]);
    granted(await reserve(tenant.id, 1, 'dedicated_endpoints')); // loads the counter
    await recordUsage(t, tenant.id, [
      { metric: 'dedicated_endpoints', quantity: -5, occurredAt: new Date(Date.now() - 1000) },
    ]);
    // 1 held; a level of −5 counts as 0, so exactly one more fits.
    const results = await Promise.all(
      Array.from({ length: 10 }, () => reserve(tenant.id, 1, 'dedicated_endpoints')),
    );
    expect(results.filter((r) => r.granted)).toHaveLength(1);
  });

  it('takes ingested usage back out of the counters when its transaction rolls back', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 100, period: 'month', enforcement: 'hard' },
    ]);
    await quotas.release(granted(await reserve(tenant.id, 1)).reservationId); // loads it
    const db = t.app.get(TenantDb);
    const ingestion = t.app.get(UsageIngestionService);
    await expect(
      db.run({ kind: 'tenant', tenantId: asTenantId(tenant.id) }, async () => {
        await ingestion.record([
          {
            id: randomUUID(),
            tenantId: tenant.id,
            metric: 'total_tokens',
            quantity: 60,
            occurredAt: new Date(Date.now() - 1000).toISOString(),
          },
        ]);
        throw new Error('something later in the same transaction failed');
      }),
    ).rejects.toThrow('something later');
    expect(await used(tenant.id)).toEqual([0]);
    expect(granted(await reserve(tenant.id, 100)).lines[0]).toMatchObject({ used: 0n });
  });

  it('answers 409 tenant_offboarded, not "retry", when committing for an offboarded tenant', async () => {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 100, period: 'term', enforcement: 'hard' },
    ]);
    const held = granted(await reserve(tenant.id, 10));
    await t.http
      .post(`/v1/tenants/${tenant.id}/offboard`)
      .set(admin())
      .send({ reason: 'contract ended' })
      .expect(200);
    await expect(quotas.commit(held.reservationId, 10)).rejects.toBeInstanceOf(TenantOffboarded);
  });
});
