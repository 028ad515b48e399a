import { bearer, createTenant, expectEventually, platformAdminKey, TestApp } from '@app/testing';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';

const admin = () => bearer(platformAdminKey());

describe('contract expiry (worker job)', () => {
  let api: TestApp;
  let worker: TestApp;

  beforeAll(async () => {
    api = await startApi();
    worker = await startWorker({ env: { CONTRACT_EXPIRY_INTERVAL_MS: '250' } });
  });
  afterAll(async () => {
    await worker.close();
    await api.close();
  });

  it('stores `expired` for an active contract past its end, with a system audit event, once', async () => {
    const tenant = await createTenant(api);
    const now = Date.now();
    const created = await api.http
      .post(`/v1/tenants/${tenant.id}/contracts`)
      .set(admin())
      .send({
        contractNumber: 'SHORT-1',
        termStart: new Date(now - 60_000).toISOString(),
        termEnd: new Date(now + 1500).toISOString(),
        currency: 'USD',
        committedSpendMinor: 0,
        billingModel: 'postpaid_commitment',
        sla: { availabilityTarget: 99.5 },
        quotaLines: [{ metric: 'requests', limit: 100, period: 'day', enforcement: 'hard' }],
      })
      .expect(201);
    const id = created.body.id as string;
    await api.http
      .post(`/v1/tenants/${tenant.id}/contracts/${id}/activate`)
      .set(admin())
      .expect(200);
    const events = await expectEventually(
      async () => {
        const res = await api.http
          .get(`/v1/tenants/${tenant.id}/audit/events?action=contract.expire`)
          .set(admin())
          .expect(200);
        expect(res.body.data).toHaveLength(1);
        return res.body.data;
      },
      { timeoutMs: 15_000 },
    );
    expect(events[0]).toMatchObject({
      actor: { type: 'system', id: 'contract-expiry' },
      resource: { type: 'contract', id },
      changes: { before: { status: 'active' }, after: { status: 'expired' } },
    });
    const stored = await api.http
      .get(`/v1/tenants/${tenant.id}/contracts?status=expired`)
      .set(admin())
      .expect(200);
    expect(stored.body.data.map((c: { id: string }) => c.id)).toEqual([id]);
    // Later runs find nothing more to do: still one event, and the chain verifies.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const again = await api.http
      .get(`/v1/tenants/${tenant.id}/audit/events?action=contract.expire`)
      .set(admin())
      .expect(200);
    expect(again.body.data).toHaveLength(1);
    const verified = await api.http
      .get(`/v1/tenants/${tenant.id}/audit/verify`)
      .set(admin())
      .expect(200);
    expect(verified.body.ok).toBe(true);
  });
});
