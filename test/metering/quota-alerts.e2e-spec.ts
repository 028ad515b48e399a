import { asTenantId } from '@app/authz';
import { QuotaAlertPayload, QuotaAlertsService, UsagePartitionsService } from '@app/metering';
import {
  activeContract,
  bearer,
  createTenant,
  createTenantKey,
  expectEventually,
  platformAdminKey,
  recordUsage,
  TestApp,
} from '@app/testing';
import { Webhook } from 'standardwebhooks';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';
import { startReceiver } from '../webhooks/support/receiver';

const LOCAL_WEBHOOKS = { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };

const admin = () => bearer(platformAdminKey());

describe('quota alerts', () => {
  let t: TestApp;
  let alerts: QuotaAlertsService;
  beforeAll(async () => {
    t = await startApi({ env: LOCAL_WEBHOOKS });
    alerts = t.app.get(QuotaAlertsService);
  });
  afterAll(() => t.close());

  const settings = (tenantId: string) => `/v1/tenants/${tenantId}/quota-alerts/settings`;
  const auditOf = async (tenantId: string, action: string) =>
    (
      await t.http
        .get(`/v1/tenants/${tenantId}/audit/events?limit=100&order=asc&action=${action}`)
        .set(admin())
        .expect(200)
    ).body.data;
  const recent = () => new Date(Date.now() - 1000);

  it('defaults to 80 % and 100 %; tenant admins set their own thresholds, audited', async () => {
    const tenant = await createTenant(t);
    expect((await t.http.get(settings(tenant.id)).set(admin()).expect(200)).body).toEqual({
      thresholds: [80, 100],
      custom: false,
    });
    const tenantAdmin = await createTenantKey(t, tenant.id, ['tenant_admin']);
    const res = await t.http
      .put(settings(tenant.id))
      .set(bearer(tenantAdmin.key))
      .send({ thresholds: [100, 50, 80, 50] })
      .expect(200);
    expect(res.body).toEqual({ thresholds: [50, 80, 100], custom: true });
    const [event] = await auditOf(tenant.id, 'quota_alert_settings');
    expect(event).toMatchObject({ outcome: 'success' });
    expect(event.changes.before).toEqual({ thresholds: [80, 100], custom: false });
  });

  it('refuses bad thresholds with field errors and keeps the old ones', async () => {
    const tenant = await createTenant(t);
    for (const thresholds of [
      [],
      [0],
      [1001],
      [50.5],
      ['80'],
      Array.from({ length: 11 }, (_, i) => i + 1),
    ]) {
      const res = await t.http
        .put(settings(tenant.id))
        .set(admin())
        .send({ thresholds })
        .expect(400);
      expect(res.body.errors[0].path).toMatch(/^thresholds/);
    }
    await t.http.put(settings(tenant.id)).set(admin()).send({}).expect(400);
    expect((await t.http.get(settings(tenant.id)).set(admin())).body.custom).toBe(false);
  });

  it('lets members read but not change them, and hides them from other tenants (404)', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const engineer = await createTenantKey(t, tenant.id, ['ml_engineer']);
    const outsider = await createTenantKey(t, other.id, ['tenant_admin']);
    await t.http.get(settings(tenant.id)).set(bearer(engineer.key)).expect(200);
    await t.http
      .put(settings(tenant.id))
      .set(bearer(engineer.key))
      .send({ thresholds: [90] })
      .expect(403);
    await t.http.get(settings(tenant.id)).set(bearer(outsider.key)).expect(404);
    await t.http
      .put(settings(tenant.id))
      .set(bearer(outsider.key))
      .send({ thresholds: [90] })
      .expect(404);
    await t.http.get(`/v1/tenants/${tenant.id}/quota-alerts`).set(bearer(outsider.key)).expect(404);
  });

  it('raises each threshold once per line and period, as an audit event', async () => {
    const tenant = await createTenant(t);
    const tenantId = asTenantId(tenant.id);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 1000, period: 'month', enforcement: 'hard' },
      { metric: 'requests', limit: 10, period: 'day', enforcement: 'soft' },
    ]);
    await recordUsage(t, tenant.id, [
      { metric: 'total_tokens', quantity: 799, occurredAt: recent() },
    ]);
    expect(await alerts.evaluate(tenantId)).toEqual([]);
    await recordUsage(t, tenant.id, [
      { metric: 'total_tokens', quantity: 1, occurredAt: recent() },
      { metric: 'requests', quantity: 25, occurredAt: recent() },
    ]);
    const raised = await alerts.evaluate(tenantId);
    expect(raised.map((a) => [a.metric, a.threshold])).toEqual([
      ['total_tokens', 80],
      ['requests', 80],
      ['requests', 100],
    ]);
    expect(raised[0]).toMatchObject({ limit: 1000, used: 800, percent: 80, enforcement: 'hard' });
    // Once each: a second check raises nothing, concurrent ones neither.
    expect(await alerts.evaluate(tenantId)).toEqual([]);
    expect(
      (await Promise.all([alerts.evaluate(tenantId), alerts.evaluate(tenantId)])).flat(),
    ).toEqual([]);
    await recordUsage(t, tenant.id, [
      { metric: 'total_tokens', quantity: 200, occurredAt: recent() },
    ]);
    expect((await alerts.evaluate(tenantId)).map((a) => a.threshold)).toEqual([100]);

    const events = await auditOf(tenant.id, 'quota.threshold_reached');
    expect(events).toHaveLength(4);
    expect(events[0]).toMatchObject({
      actor: { type: 'system', id: 'quota-alerts' },
      resource: { type: 'quota_line', id: 'total_tokens/month' },
      outcome: 'success',
    });
    const list = await t.http.get(`/v1/tenants/${tenant.id}/quota-alerts`).set(admin()).expect(200);
    expect(list.body.data).toHaveLength(4);
    expect(list.body.data[0]).toMatchObject({ metric: 'total_tokens', threshold: 100, used: 1000 });
  });

  it('compares exactly (999,950 of 1,000,000 is not 100 %) and re-arms when an amendment changes the limit', async () => {
    const tenant = await createTenant(t);
    const tenantId = asTenantId(tenant.id);
    const contractId = await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 1_000_000, period: 'month', enforcement: 'hard' },
    ]);
    await recordUsage(t, tenant.id, [
      { metric: 'total_tokens', quantity: 999_950, occurredAt: recent() },
    ]);
    expect((await alerts.evaluate(tenantId)).map((a) => a.threshold)).toEqual([80]);
    await recordUsage(t, tenant.id, [
      { metric: 'total_tokens', quantity: 50, occurredAt: recent() },
    ]);
    expect((await alerts.evaluate(tenantId)).map((a) => a.threshold)).toEqual([100]);
    await t.http
      .post(`/v1/tenants/${tenant.id}/contracts/${contractId}/amendments`)
      .set(admin())
      .send({
        effectiveFrom: new Date().toISOString(),
        reason: 'more tokens',
        changes: {
          quotaLines: [
            { metric: 'total_tokens', limit: 1_200_000, period: 'month', enforcement: 'hard' },
          ],
        },
      })
      .expect(201);
    // 1,000,000 of 1,200,000 is 83 %: the 80 % threshold of the new limit fires.
    const rearmed = await alerts.evaluate(tenantId);
    expect(rearmed.map((a) => [a.threshold, a.limit])).toEqual([[80, 1_200_000]]);
  });

  it('is checked by the worker on its schedule and sent as a signed webhook; partitions are kept ahead', async () => {
    const receiver = await startReceiver();
    const tenant = await createTenant(t);
    const endpoint = await t.http
      .post(`/v1/tenants/${tenant.id}/webhook-endpoints`)
      .set(admin())
      .send({ url: receiver.url('/quota'), eventTypes: ['quota.threshold_reached'] })
      .expect(201);
    await activeContract(t, tenant.id, [
      { metric: 'total_tokens', limit: 100, period: 'term', enforcement: 'hard' },
    ]);
    await recordUsage(t, tenant.id, [
      { metric: 'total_tokens', quantity: 100, occurredAt: recent() },
    ]);
    const worker = await startWorker({
      env: {
        ...LOCAL_WEBHOOKS,
        QUOTA_ALERT_INTERVAL_MS: '200',
        WEBHOOK_DISPATCH_INTERVAL_MS: '100',
      },
    });
    try {
      await expectEventually(async () => {
        const list = await t.http.get(`/v1/tenants/${tenant.id}/quota-alerts`).set(admin());
        // Raised in one transaction, so in no particular order among themselves.
        expect(list.body.data.map((a: { threshold: number }) => a.threshold).sort()).toEqual([
          100, 80,
        ]);
      });
      const received = await expectEventually(() => {
        const requests = receiver.requestsTo('/quota');
        expect(requests).toHaveLength(2);
        return requests;
      });
      const verifier = new Webhook(endpoint.body.secret);
      const bodies = received.map(
        (r) =>
          verifier.verify(r.body, r.headers as Record<string, string>) as {
            type: string;
            data: QuotaAlertPayload;
          },
      );
      expect(bodies.map((b) => b.type)).toEqual([
        'quota.threshold_reached',
        'quota.threshold_reached',
      ]);
      expect(bodies.map((b) => b.data.threshold).sort()).toEqual([100, 80]);
      expect(bodies[0].data).toMatchObject({
        tenantId: tenant.id,
        metric: 'total_tokens',
        limit: 100,
        used: 100,
      });
      // Two years ahead: created on demand, idempotently.
      const later = new Date(Date.now() + 2 * 365 * 86_400_000);
      expect(await worker.app.get(UsagePartitionsService).ensure(later)).toBe(3);
      expect(await worker.app.get(UsagePartitionsService).ensure(later)).toBe(0);
    } finally {
      await worker.close();
      await receiver.close();
    }
  });
});
