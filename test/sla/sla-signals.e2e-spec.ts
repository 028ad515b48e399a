import { asTenantId, TenantDb } from '@app/authz';
import { EndpointDirectory } from '@app/endpoints';
import {
  exactQuantile,
  histogramOf,
  monthOf,
  RELATIVE_ERROR,
  SlaClock,
  SlaEvaluationService,
  SlaProbeService,
  SlaMetrics,
  SlaRollupService,
} from '@app/sla';
import {
  bearer,
  createEndpoint,
  deployableTenant,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());
const at = (iso: string) => new Date(iso);
const M = 60_000;

/**
 * The SLA's signals and evaluation without a worker: the rollup of the gateway's samples into
 * mergeable histograms (checked against exact percentiles), bad minutes from the error rate,
 * incidents, and burn-rate alerts that fire once per episode (with an injected clock).
 */
describe('SLA signals and evaluation', () => {
  let api: TestApp;
  let clock: SlaClock;

  const sql = (query: string, params: unknown[] = []) =>
    api.app.get(TenantDb).asPlatform('test: SLA fixtures', (m) => m.query(query, params));

  async function endpointOf(tenantId: string, createdAt: Date): Promise<string> {
    const id = await createEndpoint(api, tenantId);
    await sql(`UPDATE endpoints SET created_at = $2 WHERE id = $1`, [id, createdAt]);
    return id;
  }

  beforeAll(async () => {
    api = await startApi({
      env: { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    clock = api.app.get(SlaClock);
  });
  afterAll(async () => {
    clock.set(null);
    await retireEndpoints(api);
    await api.close();
  });

  it('rolls gateway samples up per minute; merged percentiles agree with exact ones within 1 %', async () => {
    const tenantId = await deployableTenant(api);
    const endpointId = await endpointOf(tenantId, new Date(Date.now() - 3_600_000));
    // A rollup has just run: samples of requests that started minutes ago but are written only
    // now (long streams are written when they end) must still reach the minutes they started in.
    const rollup = api.app.get(SlaRollupService);
    await rollup.rollup();
    // Four past minutes of traffic with a long tail; minute 2 answers 503 to 3 of 40 (7.5 %).
    // All in one month of the tenant's (run just after midnight on the 1st, the last one).
    const { billingTimeZone } = (
      await api.http.get(`/v1/tenants/${tenantId}`).set(admin()).expect(200)
    ).body;
    const monthAt = (ms: number) => monthOf(new Date(ms), billingTimeZone);
    let base = Math.floor(Date.now() / M) * M - 6 * M;
    while (monthAt(base) !== monthAt(base + 4 * M - 1)) base -= M;
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const ttfb: number[] = [];
    const total: number[] = [];
    const rows: unknown[][] = [];
    for (let minute = 0; minute < 4; minute += 1) {
      for (let i = 0; i < 40; i += 1) {
        const first = Math.round(20 + next() * 200 + (i % 13 === 0 ? 1500 : 0));
        const all = first + Math.round(next() * 3000);
        const status = minute === 2 && i < 3 ? 503 : 200;
        ttfb.push(first);
        total.push(all);
        rows.push([
          tenantId,
          endpointId,
          new Date(base + minute * M + i * 1000),
          status,
          first,
          all,
        ]);
      }
    }
    for (const row of rows) {
      await sql(
        `INSERT INTO inference_samples (tenant_id, endpoint_id, kind, started_at, status, ttfb_ms, total_ms)
         VALUES ($1, $2, 'chat', $3, $4, $5, $6)`,
        row,
      );
    }
    await rollup.rollup();
    await rollup.rollup(); // replaces, never adds
    const report = (
      await api.http
        .get(`/v1/tenants/${tenantId}/sla`)
        .query({ month: monthAt(base) })
        .set(admin())
        .expect(200)
    ).body;
    expect(report.requests).toBe(160);
    expect(report.errors).toBe(3);
    expect(report.badMinutes).toBe(1);
    expect(report.latency.relativeError).toBe(RELATIVE_ERROR);
    const close = (approx: number, exact: number) =>
      expect(Math.abs(approx - exact)).toBeLessThanOrEqual(exact * RELATIVE_ERROR + 0.005);
    close(report.latency.ttfbP95Ms, exactQuantile(ttfb, 0.95)!);
    close(report.latency.ttfbP50Ms, exactQuantile(ttfb, 0.5)!);
    close(report.latency.totalP95Ms, exactQuantile(total, 0.95)!);
    close(report.latency.totalP99Ms, exactQuantile(total, 0.99)!);
    // The contract's default targets (none) are reported as such.
    expect(report.latency.met).toEqual({ ttfbP95: null, totalP95: null });
  });

  it('opens and closes incidents, and fires each burn-rate alert once per episode', async () => {
    const tenantId = await deployableTenant(api, {
      contract: {
        termStart: at('2026-01-01T00:00:00Z'),
        fields: {
          sla: { availabilityTarget: 99.9, creditTiers: [{ below: 99.9, creditPercent: 10 }] },
        },
      },
    });
    const hook = await api.http
      .post(`/v1/tenants/${tenantId}/webhook-endpoints`)
      .set(admin())
      .send({ url: 'http://127.0.0.1:9/hooks', eventTypes: ['sla.burn_rate_alert'] })
      .expect(201);
    const endpointId = await endpointOf(tenantId, at('2026-06-01T00:00:00Z'));
    const T = at('2026-06-10T12:00:00Z').getTime();
    const bad = async (from: number, count: number) => {
      for (let i = 0; i < count; i += 1) {
        await sql(
          `INSERT INTO sla_minutes (tenant_id, endpoint_id, minute, probes, probe_failures, probe_error)
           VALUES ($1, $2, $3, 2, 1, 'no answer within 10000 ms')`,
          [tenantId, endpointId, new Date(from + i * M)],
        );
      }
    };
    const evaluation = api.app.get(SlaEvaluationService);
    const evaluateAt = (t: number) => {
      clock.set(new Date(t + 10_000)); // settled up to t
      return evaluation.evaluateTenant(asTenantId(tenantId));
    };

    // Episode 1: five bad minutes before T burn 83× (1 h) and 1000× (5 min) the budget of 0.1 %.
    await bad(T - 5 * M, 5);
    const first = await evaluateAt(T);
    expect(first.opened).toHaveLength(1);
    expect(first.alerts.map((a) => a.severity).sort()).toEqual(['fast', 'slow']);
    const fast = first.alerts.find((a) => a.severity === 'fast')!;
    expect(fast).toMatchObject({ longWindowMinutes: 60, shortWindowMinutes: 5, factor: 14.4 });
    expect(fast.shortBurnRate).toBe(1000);
    expect(fast.longBurnRate).toBeCloseTo(5 / 60 / 0.001, 1);

    // Still burning a minute later: the same episode, nothing fires again.
    await bad(T, 1);
    const again = await evaluateAt(T + M);
    expect(again.alerts).toEqual([]);
    expect(again.opened).toEqual([]);

    // Ten good minutes: the 5-minute window recovers (fast episode ends), the incident closes
    // after 5 good minutes, the slow rule's 30-minute window still burns (no new alert).
    const calm = await evaluateAt(T + 11 * M);
    expect(calm.alerts).toEqual([]);
    expect(calm.closed).toEqual(first.opened);
    const incident = (
      await api.http
        .get(`/v1/tenants/${tenantId}/sla/incidents/${first.opened[0]}`)
        .set(admin())
        .expect(200)
    ).body;
    expect(incident).toMatchObject({
      status: 'closed',
      startedAt: new Date(T - 5 * M).toISOString(),
      endedAt: new Date(T + M).toISOString(),
      closedAt: new Date(T + 6 * M).toISOString(),
      cause: 'probe_failure',
      endpointIds: [endpointId],
      badMinutes: 6,
    });
    expect(incident.timeline.map((e: { type: string }) => e.type)).toEqual([
      'opened',
      'endpoint_affected',
      'cause_added',
      'recovering',
      'closed',
    ]);

    // Episode 2 of the fast rule: it fires again, once.
    await bad(T + 11 * M, 3);
    const second = await evaluateAt(T + 14 * M);
    expect(second.alerts.map((a) => a.severity)).toEqual(['fast']);
    expect(second.opened).toHaveLength(1);

    const alerts = (
      await api.http.get(`/v1/tenants/${tenantId}/sla/burn-rate-alerts`).set(admin()).expect(200)
    ).body.data as { severity: string; endedAt: string | null }[];
    expect(alerts.filter((a) => a.severity === 'fast')).toHaveLength(2);
    expect(alerts.filter((a) => a.severity === 'slow')).toHaveLength(1);
    expect(alerts.filter((a) => a.severity === 'fast' && a.endedAt !== null)).toHaveLength(1);

    const audit = (
      await api.http.get(`/v1/tenants/${tenantId}/audit/events?action=sla`).set(admin()).expect(200)
    ).body.data.map((e: { action: string }) => e.action);
    expect(audit.filter((a: string) => a === 'sla.burn_rate_alert')).toHaveLength(3);
    expect(audit).toEqual(expect.arrayContaining(['sla.burn_rate_alert_resolved']));
    const incidentsAudit = (
      await api.http
        .get(`/v1/tenants/${tenantId}/audit/events?action=sla_incident`)
        .set(admin())
        .expect(200)
    ).body.data.map((e: { action: string }) => e.action);
    expect(incidentsAudit.sort()).toEqual([
      'sla_incident.close',
      'sla_incident.open',
      'sla_incident.open',
    ]);

    // One signed webhook delivery per fired alert.
    const deliveries = (
      await api.http
        .get(`/v1/tenants/${tenantId}/webhook-endpoints/${hook.body.id}/deliveries`)
        .set(admin())
        .expect(200)
    ).body.data as { eventType: string }[];
    expect(deliveries.filter((d) => d.eventType === 'sla.burn_rate_alert')).toHaveLength(3);
  });
  it('opens a latency incident for slow minutes without counting them bad', async () => {
    const tenantId = await deployableTenant(api, {
      contract: {
        termStart: at('2026-01-01T00:00:00Z'),
        fields: { sla: { availabilityTarget: 99.9, latencyP95Ms: 500, creditTiers: [] } },
      },
    });
    const endpointId = await endpointOf(tenantId, at('2026-05-01T00:00:00Z'));
    const T = at('2026-05-10T08:00:00Z').getTime();
    for (let i = 0; i < 3; i += 1) {
      await sql(
        `INSERT INTO sla_minutes (tenant_id, endpoint_id, minute, requests, errors, ttfb_hist, total_hist, probes)
         VALUES ($1, $2, $3, 20, 0, $4, $5, 2)`,
        [
          tenantId,
          endpointId,
          new Date(T + i * M),
          histogramOf(Array.from({ length: 20 }, () => 100)),
          histogramOf(Array.from({ length: 20 }, (_, k) => (k < 17 ? 300 : 2000))),
        ],
      );
    }
    clock.set(new Date(T + 3 * M + 10_000));
    const result = await api.app.get(SlaEvaluationService).evaluateTenant(asTenantId(tenantId));
    expect(result.opened).toHaveLength(1);
    expect(result.alerts).toEqual([]);
    const incident = (
      await api.http
        .get(`/v1/tenants/${tenantId}/sla/incidents/${result.opened[0]}`)
        .set(admin())
        .expect(200)
    ).body;
    expect(incident).toMatchObject({ status: 'open', cause: 'latency', badMinutes: 3 });
    const report = (
      await api.http.get(`/v1/tenants/${tenantId}/sla?month=2026-05`).set(admin()).expect(200)
    ).body;
    expect(report.badMinutes).toBe(0);
    expect(report.latency.targets).toEqual({ ttfbP95Ms: null, totalP95Ms: 500 });
    expect(report.latency.met).toEqual({ ttfbP95: null, totalP95: false });
    expect(report.incidents).toEqual([expect.objectContaining({ cause: 'latency' })]);
  });

  describe('a probe that fails while the endpoint is scaled to zero', () => {
    /**
     * A replica stand-in that holds each request until `answer` is called, then answers 503: the
     * probe is under way while the test changes the endpoint.
     */
    async function heldReplica() {
      const held: ServerResponse[] = [];
      let arrived!: () => void;
      const first = new Promise<void>((resolve) => (arrived = resolve));
      const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
        held.push(res);
        arrived();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        first,
        answer: () => held.forEach((res) => res.writeHead(503).end()),
        close: () => new Promise((resolve) => server.close(resolve)),
      };
    }

    /** An endpoint the probes see as running on `url`. */
    async function runningOn(url: string): Promise<{ tenantId: string; endpointId: string }> {
      const tenantId = await deployableTenant(api);
      const endpointId = await createEndpoint(api, tenantId, { name: 'held' });
      await sql(
        `UPDATE endpoints SET status = 'running', observed_generation = generation, observed = $2
          WHERE id = $1`,
        [
          endpointId,
          JSON.stringify({
            replicas: [
              { id: 'r1', generation: 1, ready: true, url, startedAt: new Date().toISOString() },
            ],
            url: null,
          }),
        ],
      );
      return { tenantId, endpointId };
    }

    /** The worker's probe service, wired here from the api's own real services (no worker). */
    const probes = () =>
      new SlaProbeService(
        api.app.get(TenantDb),
        api.app.get(EndpointDirectory),
        clock,
        api.app.get(SlaMetrics),
        api.config,
      );

    const recorded = async (endpointId: string, probeId: string) =>
      (
        await sql(`SELECT ok FROM sla_probe_results WHERE endpoint_id = $1 AND probe_id = $2`, [
          endpointId,
          probeId,
        ])
      ).map((r: { ok: boolean }) => r.ok);

    it('is not recorded (the replica was being removed on purpose)', async () => {
      const replica = await heldReplica();
      try {
        const { tenantId, endpointId } = await runningOn(replica.url);
        const probing = probes().probeAll('overtaken-probe');
        await replica.first;
        await api.http
          .patch(`/v1/tenants/${tenantId}/endpoints/${endpointId}`)
          .set(admin())
          .send({ minReplicas: 0, replicas: 0 })
          .expect(200);
        replica.answer();
        const results = await probing;
        expect(results.find((r) => r.endpointId === endpointId)).toBeUndefined();
        expect(await recorded(endpointId, 'overtaken-probe')).toEqual([]);
      } finally {
        await replica.close();
      }
    });

    it('is recorded when the endpoint is still asked to serve as before', async () => {
      const replica = await heldReplica();
      try {
        const { endpointId } = await runningOn(replica.url);
        const probing = probes().probeAll('failed-probe');
        await replica.first;
        replica.answer();
        const results = await probing;
        expect(results.find((r) => r.endpointId === endpointId)).toMatchObject({
          ok: false,
          error: 'health answered 503',
        });
        expect(await recorded(endpointId, 'failed-probe')).toEqual([false]);
      } finally {
        await replica.close();
      }
    });
  });
});
