import { creditMinorOf } from '@app/sla';
import {
  bearer,
  createEndpoint,
  createTenantKey,
  expectEventually,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import { Webhook } from 'standardwebhooks';
import type { AddressInfo } from 'node:net';
import { startApi } from '../support/api';
import { startGateway } from '../support/gateway';
import { startWorker } from '../support/worker';
import { SHORT_SLA_TIME } from './support/short-sla-time';
import { replicaPids, slaTenant } from './support/sla-tenant';
import { Receiver, startReceiver } from '../webhooks/support/receiver';

jest.setTimeout(180_000);
const admin = () => bearer(platformAdminKey());

/**
 * Shortened SLA time (SHORT_SLA_TIME). The signal is real: the worker probes real model-server
 * processes of a `local` endpoint over HTTP.
 */
const SLA_ENV = {
  ...SHORT_SLA_TIME,
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_DISPATCH_INTERVAL_MS: '300',
};

/**
 * A real outage (issue 11, "Must show"): the model-server processes of a running `local`
 * endpoint stop answering (SIGSTOP: the probe target is unreachable), then are killed (SIGKILL)
 * and restarted by the reconciler, while the tenant's traffic flows through the gateway. The
 * probes and the gateway's samples (504 timeouts) see bad minutes, an incident opens and closes,
 * a burn-rate alert goes out once as a signed webhook, and the month's availability and credit
 * change.
 */
describe('SLA through a real outage of a local endpoint', () => {
  let api: TestApp;
  let worker: TestApp;
  let gateway: TestApp;
  let receiver: Receiver;
  /** Whether the test's traffic loop keeps sending (stopped in afterAll too, on failure). */
  let traffic = false;

  beforeAll(async () => {
    receiver = await startReceiver();
    api = await startApi({ env: SLA_ENV });
    worker = await startWorker({
      env: { ...SLA_ENV, ENDPOINT_RECONCILE_INTERVAL_MS: '500' },
    });
    gateway = await startGateway({
      env: { GATEWAY_FIRST_BYTE_TIMEOUT_MS: '800', GATEWAY_ROUTE_CACHE_TTL_MS: '500' },
    });
  });
  afterAll(async () => {
    traffic = false;
    await gateway.close();
    await worker.close();
    await retireEndpoints(api);
    await api.close();
    await receiver.close();
  });

  const pidsOf = (endpointId: string) => replicaPids(api, endpointId);

  it('sees bad minutes, opens and closes an incident, alerts once, and lowers availability', async () => {
    const tenantId = await slaTenant(api);
    const hook = await api.http
      .post(`/v1/tenants/${tenantId}/webhook-endpoints`)
      .set(admin())
      .send({ url: receiver.url('/sla'), eventTypes: ['sla.burn_rate_alert'] })
      .expect(201);
    const endpointId = await createEndpoint(api, tenantId, { name: 'prod' });
    const report = async () =>
      (await api.http.get(`/v1/tenants/${tenantId}/sla`).set(admin()).expect(200)).body;
    const endpointReport = async () =>
      (
        await api.http
          .get(`/v1/tenants/${tenantId}/endpoints/${endpointId}/sla`)
          .set(admin())
          .expect(200)
      ).body;

    // The tenant's own traffic through the gateway, one request after another.
    const key = (await createTenantKey(api, tenantId, [], ['inference'])).key;
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    traffic = true;
    const statuses: number[] = [];
    const flowing = (async () => {
      while (traffic) {
        const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'llama-3-8b-local',
            messages: [{ role: 'user', content: 'Hello' }],
            max_tokens: 2,
          }),
        }).catch(() => undefined);
        statuses.push(res?.status ?? 0);
        await res?.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();

    // Healthy: probes pass minute after minute.
    await expectEventually(
      async () => {
        const e = await endpointReport();
        expect(e.probes).toBeGreaterThanOrEqual(12);
        expect(e.requests).toBeGreaterThanOrEqual(10);
        expect(e.badMinutes).toBe(0);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const before = await report();
    expect(before).toMatchObject({
      availability: 100,
      badMinutes: 0,
      creditPercent: 0,
      creditMinor: 0,
    });

    // The outage: the replicas stop answering (the process is alive but frozen).
    const pids = await pidsOf(endpointId);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    const incidents = async () =>
      (await api.http.get(`/v1/tenants/${tenantId}/sla/incidents`).set(admin()).expect(200)).body
        .data as { id: string; status: string; causes: string[]; endpointIds: string[] }[];
    await expectEventually(
      async () => {
        // Opened (it may have closed already if the reconciler replaced the frozen replica).
        const opened = (await incidents()).find((i) => i.causes.includes('probe_failure'));
        expect(opened?.endpointIds).toEqual([endpointId]);
        expect((await endpointReport()).badMinutes).toBeGreaterThanOrEqual(3);
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    // Then they are killed (unless the reconciler replaced them already); a new replica starts.
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await expectEventually(
      async () => {
        const res = await api.http
          .get(`/v1/tenants/${tenantId}/endpoints/${endpointId}`)
          .set(admin());
        expect(res.body.status).toBe('running');
        expect(await pidsOf(endpointId)).not.toEqual(pids);
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );

    // Three good minutes after the last bad one close the incident(s): none stays open.
    let closed: Awaited<ReturnType<typeof incidents>> = [];
    await expectEventually(
      async () => {
        closed = await incidents();
        expect(closed.length).toBeGreaterThanOrEqual(1);
        expect(closed.map((i) => i.status)).not.toContain('open');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const first = (
      await api.http
        .get(`/v1/tenants/${tenantId}/sla/incidents/${closed.at(-1)!.id}`)
        .set(admin())
        .expect(200)
    ).body;
    expect(first.timeline[0].type).toBe('opened');
    expect(first.timeline.at(-1).type).toBe('closed');
    expect(new Date(first.endedAt).getTime()).toBeGreaterThan(new Date(first.startedAt).getTime());

    traffic = false;
    await flowing;
    expect(statuses).toContain(504); // the gateway timed out on the frozen replica
    expect(closed.flatMap((i) => i.causes)).toEqual(
      expect.arrayContaining(['probe_failure', 'error_rate']),
    );

    // The month's figures moved: bad minutes, lower availability, a credit.
    const after = await report();
    expect(after.badMinutes).toBeGreaterThanOrEqual(3);
    expect(after.errors).toBeGreaterThan(0);
    expect(after.availability).toBeLessThan(100);
    expect(after.availability).toBe(
      Math.floor(
        ((after.minutes - after.excludedMinutes - after.badMinutes) /
          (after.minutes - after.excludedMinutes)) *
          100 *
          10_000,
      ) / 10_000,
    );
    expect(after.creditPercent).toBeGreaterThan(0);
    expect(after.monthlyFeeMinor).toBeGreaterThan(0);
    expect(after.creditMinor).toBe(creditMinorOf(after.monthlyFeeMinor, after.creditPercent));
    expect(after.incidents.map((i: { id: string }) => i.id).sort()).toEqual(
      closed.map((i) => i.id).sort(),
    );
    expect(after.incidents.map((i: { status: string }) => i.status)).not.toContain('open');

    // One fast burn-rate alert for the episode, as a signed webhook and an audit event.
    const alerts = (
      await api.http.get(`/v1/tenants/${tenantId}/sla/burn-rate-alerts`).set(admin()).expect(200)
    ).body.data as { severity: string }[];
    expect(alerts.filter((a) => a.severity === 'fast')).toHaveLength(1);
    await expectEventually(
      () => {
        const fast = receiver
          .requestsTo('/sla')
          .map((r) => ({ r, body: JSON.parse(r.body) }))
          .filter(({ body }) => body.data.severity === 'fast');
        expect(fast).toHaveLength(1);
        const { r, body } = fast[0];
        expect(body).toMatchObject({ type: 'sla.burn_rate_alert', tenantId });
        new Webhook(hook.body.secret).verify(r.body, r.headers as Record<string, string>);
        return Promise.resolve();
      },
      { timeoutMs: 20_000, intervalMs: 300 },
    );
    const actions = (
      await api.http.get(`/v1/tenants/${tenantId}/audit/events?action=sla`).set(admin()).expect(200)
    ).body.data.map((e: { action: string }) => e.action);
    expect(
      actions.filter((a: string) => a === 'sla.burn_rate_alert').length,
    ).toBeGreaterThanOrEqual(1);
    const incidentActions = (
      await api.http
        .get(`/v1/tenants/${tenantId}/audit/events?action=sla_incident`)
        .set(admin())
        .expect(200)
    ).body.data.map((e: { action: string }) => e.action);
    expect(incidentActions).toEqual(
      expect.arrayContaining(['sla_incident.open', 'sla_incident.close']),
    );

    // The worker's /metrics counts the failed probes.
    const metrics = await worker.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/sla_probes_total\{outcome="failed"\} [1-9]/);
    expect(metrics.text).toMatch(/sla_incidents_total\{event="closed"\} [1-9]/);
  });
});
