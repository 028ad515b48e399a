import { asTenantId, TenantDb } from '@app/authz';
import { bearer, createTenant, expectEventually, signIn, TestApp, TestTenant } from '@app/testing';
import { WebhookService } from '@app/webhooks';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';
import { Receiver, startReceiver } from './support/receiver';

const LOCAL = { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
const MAX_ATTEMPTS = 3;
const RETRY_BASE_MS = 100;

describe('webhook delivery (worker dispatcher, real receiver)', () => {
  let api: TestApp;
  let worker: TestApp;
  let receiver: Receiver;
  let tenant: TestTenant;
  let admin: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    api = await startApi({ env: LOCAL, captureLogs: true });
    worker = await startWorker({
      captureLogs: true,
      env: {
        ...LOCAL,
        WEBHOOK_DISPATCH_INTERVAL_MS: '100',
        WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS),
        WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        WEBHOOK_TIMEOUT_MS: '3000',
      },
    });
  });
  afterAll(async () => {
    await worker.close();
    await api.close();
    await receiver.close();
  });

  let endpoints = () => `/v1/tenants/${tenant.id}/webhook-endpoints`;

  async function endpointAt(
    path: string,
    eventTypes = ['webhook.test'],
  ): Promise<{ id: string; secret: string }> {
    const res = await api.http
      .post(endpoints())
      .set(bearer(admin))
      .send({ url: receiver.url(path), eventTypes })
      .expect(201);
    return res.body;
  }

  async function deliveriesOf(endpointId: string) {
    const res = await api.http
      .get(`${endpoints()}/${endpointId}/deliveries`)
      .set(bearer(admin))
      .expect(200);
    return res.body.data as {
      id: string;
      status: string;
      attempts: number;
      lastStatusCode: number | null;
      lastError: string | null;
      nextAttemptAt: string | null;
      deliveredAt: string | null;
    }[];
  }

  /** A tenant of its own for a test that enqueues events to every subscribed endpoint. */
  beforeEach(async () => {
    tenant = await createTenant(api);
    admin = (await signIn(api, ['tenant_admin'], tenant.id)).token;
    endpoints = () => `/v1/tenants/${tenant.id}/webhook-endpoints`;
  });

  /** Runs `work` in a transaction of the tenant, as another library's request or job would. */
  function inTenantTransaction<T>(work: () => Promise<T>): Promise<T> {
    return api.app.get(TenantDb).run({ kind: 'tenant', tenantId: asTenantId(tenant.id) }, work);
  }

  it('sends a test event signed per Standard Webhooks, verifiable with the endpoint secret', async () => {
    const endpoint = await endpointAt('/signed');
    const queued = await api.http
      .post(`${endpoints()}/${endpoint.id}/test`)
      .set(bearer(admin))
      .expect(202);
    const [request] = await expectEventually(() => {
      const got = receiver.requestsTo('/signed');
      expect(got).toHaveLength(1);
      return got;
    });
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(queued.body.id);
    expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(
      30,
    );
    expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const verified = new Webhook(endpoint.secret).verify(
      request.body,
      request.headers as Record<string, string>,
    );
    expect(verified).toEqual({
      id: queued.body.id,
      type: 'webhook.test',
      createdAt: queued.body.createdAt,
      tenantId: tenant.id,
      data: { endpointId: endpoint.id, message: expect.any(String) },
    });
    await expectEventually(async () => {
      const [delivery] = await deliveriesOf(endpoint.id);
      expect(delivery).toMatchObject({
        id: queued.body.id,
        status: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
        lastError: null,
        nextAttemptAt: null,
      });
      expect(Date.parse(delivery.deliveredAt!)).toBeGreaterThan(Date.now() - 60_000);
    });
    const metrics = await worker.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
  });

  it('signs with the new secret after a rotation: the old secret no longer verifies', async () => {
    const endpoint = await endpointAt('/rotated');
    const rotated = await api.http
      .post(`${endpoints()}/${endpoint.id}/rotate-secret`)
      .set(bearer(admin))
      .expect(200);
    await api.http.post(`${endpoints()}/${endpoint.id}/test`).set(bearer(admin)).expect(202);
    const [request] = await expectEventually(() => {
      const got = receiver.requestsTo('/rotated');
      expect(got).toHaveLength(1);
      return got;
    });
    const headers = request.headers as Record<string, string>;
    expect(new Webhook(rotated.body.secret).verify(request.body, headers)).toMatchObject({
      type: 'webhook.test',
    });
    expect(() => new Webhook(endpoint.secret).verify(request.body, headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it('retries after 500s with growing delays and the same webhook-id, then records the delivery', async () => {
    const endpoint = await endpointAt('/flaky');
    receiver.script('/flaky', [500, 500]);
    const queued = await api.http
      .post(`${endpoints()}/${endpoint.id}/test`)
      .set(bearer(admin))
      .expect(202);
    const attempts = await expectEventually(() => {
      const got = receiver.requestsTo('/flaky');
      expect(got).toHaveLength(3);
      return got;
    });
    expect(new Set(attempts.map((a) => a.headers['webhook-id']))).toEqual(
      new Set([queued.body.id]),
    );
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    // Backoff: base × 1, then base × 3, each at least 80 % of it (jitter).
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(0.8 * RETRY_BASE_MS);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(0.8 * 3 * RETRY_BASE_MS);
    for (const attempt of attempts) {
      expect(
        new Webhook(endpoint.secret).verify(
          attempt.body,
          attempt.headers as Record<string, string>,
        ),
      ).toMatchObject({ id: queued.body.id });
    }
    await expectEventually(async () => {
      expect((await deliveriesOf(endpoint.id))[0]).toMatchObject({
        status: 'delivered',
        attempts: 3,
        lastStatusCode: 200,
        lastError: null,
      });
    });
  });

  it('gives up after WEBHOOK_MAX_ATTEMPTS attempts and keeps the last status and error', async () => {
    const endpoint = await endpointAt('/down');
    receiver.always('/down', 503);
    await api.http.post(`${endpoints()}/${endpoint.id}/test`).set(bearer(admin)).expect(202);
    const pendingAfterFirst = await expectEventually(async () => {
      const [delivery] = await deliveriesOf(endpoint.id);
      expect(delivery.attempts).toBeGreaterThanOrEqual(1);
      return delivery;
    });
    expect(['pending', 'delivering', 'failed']).toContain(pendingAfterFirst.status);
    await expectEventually(async () => {
      expect((await deliveriesOf(endpoint.id))[0]).toMatchObject({
        status: 'failed',
        attempts: MAX_ATTEMPTS,
        lastStatusCode: 503,
        lastError: 'HTTP 503: failure 503 from the receiver',
        nextAttemptAt: null,
        deliveredAt: null,
      });
    });
    // No attempt after giving up (several sweeps later).
    await new Promise((resolve) => setTimeout(resolve, 10 * RETRY_BASE_MS));
    expect(receiver.requestsTo('/down')).toHaveLength(MAX_ATTEMPTS);
    const metrics = await worker.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/webhook_deliveries_total\{outcome="failed"\} [1-9]/);
    expect(metrics.text).toMatch(/webhook_deliveries_total\{outcome="retry"\} [1-9]/);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    const endpoint = await endpointAt('/moved');
    receiver.script('/moved', [{ status: 307, headers: { location: '/elsewhere' } }]);
    await api.http.post(`${endpoints()}/${endpoint.id}/test`).set(bearer(admin)).expect(202);
    await expectEventually(async () => {
      const [delivery] = await deliveriesOf(endpoint.id);
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 2 });
    });
    expect(receiver.requestsTo('/elsewhere')).toHaveLength(0);
  });

  it('enqueue: one delivery per enabled, subscribed endpoint, committed with the transaction', async () => {
    const subscribed = await endpointAt('/quota', ['quota.threshold_reached']);
    const elsewhere = await endpointAt('/sla-only', ['sla.burn_rate_alert']);
    const disabled = await endpointAt('/disabled', ['quota.threshold_reached']);
    await api.http
      .patch(`${endpoints()}/${disabled.id}`)
      .set(bearer(admin))
      .send({ status: 'disabled' })
      .expect(200);
    const ids = await inTenantTransaction(() =>
      api.app.get(WebhookService).enqueue(tenant.id, 'quota.threshold_reached', {
        metric: 'total_tokens',
        threshold: 80,
        used: 2n ** 60n + 1n,
        at: new Date('2026-12-01T00:00:00Z'),
      }),
    );
    expect(ids).toHaveLength(1);
    const [request] = await expectEventually(() => {
      const got = receiver.requestsTo('/quota');
      expect(got).toHaveLength(1);
      return got;
    });
    expect(request.headers['webhook-id']).toBe(ids[0]);
    new Webhook(subscribed.secret).verify(request.body, request.headers as Record<string, string>);
    // A token count past 2^53 arrives exact.
    expect(request.body).toContain(`"used": ${2n ** 60n + 1n}`);
    expect(JSON.parse(request.body)).toMatchObject({
      id: ids[0],
      type: 'quota.threshold_reached',
      tenantId: tenant.id,
      data: { metric: 'total_tokens', threshold: 80, at: '2026-12-01T00:00:00.000Z' },
    });
    expect(await deliveriesOf(elsewhere.id)).toEqual([]);
    expect(await deliveriesOf(disabled.id)).toEqual([]);
  });

  it('enqueue in a transaction that rolls back leaves no delivery and sends nothing', async () => {
    await endpointAt('/rolled-back', ['quota.threshold_reached']);
    let ids: string[] = [];
    await expect(
      inTenantTransaction(async () => {
        ids = await api.app
          .get(WebhookService)
          .enqueue(tenant.id, 'quota.threshold_reached', { threshold: 100 });
        throw new Error('the alert failed after enqueuing');
      }),
    ).rejects.toThrow('the alert failed after enqueuing');
    expect(ids).toHaveLength(1);
    const [{ n }]: { n: number }[] = await api.app
      .get(TenantDb)
      .asPlatform('test: look for rolled-back deliveries', (m) =>
        m.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE id = ANY ($1)', [ids]),
      );
    expect(n).toBe(0);
    // Several sweeps later, still nothing arrived.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.requestsTo('/rolled-back')).toHaveLength(0);
  });

  it("refuses to enqueue for another tenant than the transaction's", async () => {
    const other = await createTenant(api);
    await expect(
      inTenantTransaction(() =>
        api.app.get(WebhookService).enqueue(other.id, 'quota.threshold_reached', {}),
      ),
    ).rejects.toThrow(/another tenant/);
  });

  it('does not send a delivery whose endpoint is disabled by the time it is due', async () => {
    const endpoint = await endpointAt('/disabled-later', ['quota.threshold_reached']);
    const ids = await inTenantTransaction(async () => {
      const queued = await api.app
        .get(WebhookService)
        .enqueue(tenant.id, 'quota.threshold_reached', { threshold: 90 });
      // Disabled in the same commit, as a PATCH racing the dispatcher could be.
      await api.app
        .get(TenantDb)
        .manager.query(`UPDATE webhook_endpoints SET status = 'disabled' WHERE id = $1`, [
          endpoint.id,
        ]);
      return queued;
    });
    await expectEventually(async () => {
      expect((await deliveriesOf(endpoint.id))[0]).toMatchObject({
        id: ids[0],
        status: 'failed',
        attempts: 0,
        lastError: 'not sent: the endpoint was disabled',
      });
    });
    expect(receiver.requestsTo('/disabled-later')).toHaveLength(0);
  });

  it('logs failed attempts without a secret or the endpoint URL', () => {
    // Nest's static loggers write through one app's logger per process: read both apps' lines.
    const lines = [...api.logs, ...worker.logs];
    const failed = lines.filter((l) => String(l.msg).startsWith('webhook attempt failed'));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]).toMatchObject({
      deliveryId: expect.any(String),
      attempt: expect.any(Number),
    });
    const all = JSON.stringify(lines);
    expect(all).not.toContain('whsec_');
    expect(all).not.toContain(receiver.url('/down'));
    expect(all).not.toContain('/flaky');
  });
});
