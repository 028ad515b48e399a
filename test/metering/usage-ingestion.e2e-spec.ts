import { bearer, createTenant, createTenantKey, platformAdminKey, TestApp } from '@app/testing';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());

describe('usage ingestion (POST /v1/usage/events)', () => {
  let t: TestApp;
  let ingestKey: string;

  beforeAll(async () => {
    t = await startApi();
    const res = await t.http
      .post('/v1/platform/api-keys')
      .set(admin())
      .send({ name: 'data plane', scopes: ['usage:write'] })
      .expect(201);
    ingestKey = res.body.key;
  });
  afterAll(() => t.close());

  const ingest = (events: unknown[], key = ingestKey) =>
    t.http.post('/v1/usage/events').set(bearer(key)).send({ events });

  const event = (tenantId: string, overrides: Record<string, unknown> = {}) => ({
    id: randomUUID(),
    tenantId,
    metric: 'total_tokens',
    quantity: 1000,
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    ...overrides,
  });

  it('records events once: a retried batch counts as duplicates, and quota status sees them', async () => {
    const tenant = await createTenant(t);
    await t.http
      .post(`/v1/tenants/${tenant.id}/contracts`)
      .set(admin())
      .send({
        contractNumber: 'U-1',
        termStart: new Date(Date.now() - 86_400_000).toISOString(),
        currency: 'USD',
        committedSpendMinor: 0,
        billingModel: 'postpaid_commitment',
        sla: { availabilityTarget: 99.5 },
        quotaLines: [
          { metric: 'total_tokens', limit: 10_000, period: 'term', enforcement: 'hard' },
        ],
      })
      .expect(201)
      .then((r) =>
        t.http
          .post(`/v1/tenants/${tenant.id}/contracts/${r.body.id}/activate`)
          .set(admin())
          .expect(200),
      );
    const batch = [event(tenant.id), event(tenant.id, { quantity: 500 }), event(tenant.id)];
    const first = await ingest(batch).expect(200);
    expect(first.body).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    const again = await ingest(batch).expect(200);
    expect(again.body).toEqual({ accepted: 0, duplicates: 3, rejected: [] });
    // The same id with another timestamp is still the same event.
    const moved = await ingest([{ ...batch[0], occurredAt: new Date().toISOString() }]).expect(200);
    expect(moved.body).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
    // Twice in one batch counts once.
    const twin = event(tenant.id);
    expect((await ingest([twin, twin]).expect(200)).body).toEqual({
      accepted: 1,
      duplicates: 1,
      rejected: [],
    });
    const quotas = await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(admin()).expect(200);
    expect(quotas.body.data[0]).toMatchObject({ used: 3500, remaining: 6500, percent: 35 });
  });

  it('rejects an event with unstorable text by its index; the rest of the batch lands', async () => {
    const tenant = await createTenant(t);
    const res = await ingest([
      event(tenant.id),
      event(tenant.id, { attributes: { note: 'nul \u0000 here' } }),
      event(tenant.id, { attributes: { note: 'lone \ud800 surrogate' } }),
      event(tenant.id),
    ]).expect(200);
    expect(res.body.accepted).toBe(2);
    expect(
      res.body.rejected.map((r: { index: number; code: string }) => [r.index, r.code]),
    ).toEqual([
      [1, 'invalid_event'],
      [2, 'invalid_event'],
    ]);
  });

  it('saturates the hourly rollup instead of failing a batch when sums pass 2^63', async () => {
    const big = await createTenant(t);
    const other = await createTenant(t);
    const at = new Date(Date.now() - 60_000).toISOString();
    const huge = () => event(big.id, { quantity: Number.MAX_SAFE_INTEGER, occurredAt: at });
    await ingest(Array.from({ length: 1000 }, huge)).expect(200);
    const res = await ingest([event(other.id), ...Array.from({ length: 30 }, huge)]).expect(200);
    expect(res.body).toMatchObject({ accepted: 31, rejected: [] });
  });

  it('rejects bad events with their index and reason while the good ones land', async () => {
    const tenant = await createTenant(t);
    const offboarded = await createTenant(t);
    await t.http
      .post(`/v1/tenants/${offboarded.id}/offboard`)
      .set(admin())
      .send({ reason: 'x' })
      .expect(200);
    const good = event(tenant.id);
    const res = await ingest([
      event(tenant.id, { metric: 'vibes' }),
      good,
      event(tenant.id, { quantity: -5 }),
      event(tenant.id, { quantity: 1.5 }),
      event(tenant.id, { occurredAt: '2027-13-01T00:00:00Z' }),
      event(tenant.id, { occurredAt: new Date(Date.now() + 3_600_000).toISOString() }),
      event(randomUUID()),
      event(offboarded.id),
      event(tenant.id, { id: 'not-a-uuid' }),
      event(tenant.id, { extra: true }),
      'not an object',
      event(tenant.id, { metric: 'dedicated_endpoints', quantity: -1 }),
    ]).expect(200);
    expect(res.body.accepted).toBe(2);
    expect(
      res.body.rejected.map((r: { index: number; code: string }) => [r.index, r.code]),
    ).toEqual([
      [0, 'invalid_event'],
      [2, 'invalid_event'],
      [3, 'invalid_event'],
      [4, 'invalid_event'],
      [5, 'invalid_event'],
      [6, 'unknown_tenant'],
      [7, 'tenant_offboarded'],
      [8, 'invalid_event'],
      [9, 'invalid_event'],
      [10, 'invalid_event'],
    ]);
    expect(res.body.rejected[0].message).toContain('metric must be one of');
  });

  it('takes 1 to 1,000 events per call', async () => {
    const tenant = await createTenant(t);
    await ingest([]).expect(400);
    await ingest(Array.from({ length: 1001 }, () => event(tenant.id))).expect(400);
    const full = await ingest(Array.from({ length: 1000 }, () => event(tenant.id))).expect(200);
    expect(full.body.accepted).toBe(1000);
  });

  it('accepts only platform keys holding the usage:write scope', async () => {
    const tenant = await createTenant(t);
    await ingest([event(tenant.id)], platformAdminKey()).expect(403);
    const tenantKey = (await createTenantKey(t, tenant.id, ['tenant_admin'], ['inference'])).key;
    await ingest([event(tenant.id)], tenantKey).expect(403);
    await t.http
      .post('/v1/usage/events')
      .send({ events: [event(tenant.id)] })
      .expect(401);
  });
});
