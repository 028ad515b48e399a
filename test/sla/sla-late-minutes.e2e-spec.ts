import { asTenantId, TenantDb } from '@app/authz';
import { SlaClock, SlaEvaluationService, SlaRollupService } from '@app/sla';
import {
  bearer,
  createEndpoint,
  deployableTenant,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());
const M = 60_000;
/** SLA_SETTLE_DELAY_MS's default: the evaluation stops at the minute that ended this long ago. */
const SETTLE_MS = 10_000;

/**
 * Minutes whose data arrives after the incident evaluation passed them (a long stream's failure
 * lands in the minute it started in; a worker that was away rolls up late): the rollup marks
 * them, and the next evaluation opens an incident for them or adds them to the incident they
 * belong to — once. Real clock, no worker: the test runs the rollup and the evaluation.
 */
describe('SLA minutes that arrive late', () => {
  let api: TestApp;
  let rollup: SlaRollupService;
  let evaluation: SlaEvaluationService;

  const sql = (query: string, params: unknown[] = []) =>
    api.app.get(TenantDb).asPlatform('test: SLA fixtures', (m) => m.query(query, params));

  /** Where the evaluation will stop now (start of the last settled minute's end). */
  const settled = () => Math.floor((Date.now() - SETTLE_MS) / M) * M;

  /** `count` gateway samples that started in `minute`, the first `failed` of them 503. */
  async function samples(
    tenantId: string,
    endpointId: string,
    minute: number,
    count: number,
    failed: number,
  ) {
    for (let i = 0; i < count; i += 1) {
      await sql(
        `INSERT INTO inference_samples (tenant_id, endpoint_id, kind, started_at, status, ttfb_ms, total_ms)
         VALUES ($1, $2, 'chat', $3, $4, 40, 45000)`,
        [tenantId, endpointId, new Date(minute + i * 1000), i < failed ? 503 : 200],
      );
    }
  }

  async function incident(tenantId: string, id: string) {
    return (
      await api.http.get(`/v1/tenants/${tenantId}/sla/incidents/${id}`).set(admin()).expect(200)
    ).body;
  }

  async function incidentAudit(tenantId: string): Promise<string[]> {
    return (
      await api.http
        .get(`/v1/tenants/${tenantId}/audit/events?action=sla_incident`)
        .set(admin())
        .expect(200)
    ).body.data
      .map((e: { action: string }) => e.action)
      .sort();
  }

  async function tenantWithEndpoints(count: number) {
    const tenantId = await deployableTenant(api, {
      contract: {
        termStart: new Date(Date.now() - 30 * 24 * 3_600_000),
        fields: {
          sla: { availabilityTarget: 99.9, creditTiers: [{ below: 99.9, creditPercent: 10 }] },
        },
      },
    });
    const endpoints: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const id = await createEndpoint(api, tenantId, { name: `e${i}` });
      // In service for the last hour, so the month's report counts its minutes.
      await sql(`UPDATE endpoints SET created_at = $2 WHERE id = $1`, [
        id,
        new Date(Date.now() - 3_600_000),
      ]);
      endpoints.push(id);
    }
    return { tenantId, endpoints };
  }

  beforeAll(async () => {
    api = await startApi();
    api.app.get(SlaClock).set(null);
    rollup = api.app.get(SlaRollupService);
    evaluation = api.app.get(SlaEvaluationService);
  });
  afterAll(async () => {
    await retireEndpoints(api);
    await api.close();
  });

  it('opens a closed incident, once, for a bad minute rolled up after it was evaluated', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    await rollup.rollup();
    const first = await evaluation.evaluateTenant(asTenantId(tenantId));
    expect(first.opened).toEqual([]);
    const passed = first.evaluatedTo!.getTime();

    // Requests that started three minutes before where the evaluation stopped end (and are
    // written) only now: 12 of 20 failed. A good minute before them arrives late too.
    const lateMinute = passed - 3 * M;
    await samples(tenantId, endpoints[0], lateMinute, 20, 12);
    await samples(tenantId, endpoints[0], lateMinute - 2 * M, 20, 0);
    await rollup.rollup();
    const [state] = await sql(`SELECT late_from FROM sla_evaluation_state WHERE tenant_id = $1`, [
      tenantId,
    ]);
    expect(state.late_from).toEqual(new Date(lateMinute - 2 * M));

    const second = await evaluation.evaluateTenant(asTenantId(tenantId));
    expect(second.opened).toHaveLength(1);
    expect(second.closed).toEqual(second.opened);
    const found = await incident(tenantId, second.opened[0]);
    expect(found).toMatchObject({
      status: 'closed',
      startedAt: new Date(lateMinute).toISOString(),
      endedAt: new Date(lateMinute + M).toISOString(),
      closedAt: new Date(lateMinute + 6 * M).toISOString(),
      cause: 'error_rate',
      endpointIds: [endpoints[0]],
      badMinutes: 1,
    });
    expect(found.timeline[0]).toMatchObject({
      type: 'opened',
      detail: expect.stringMatching(/late/),
    });
    expect(found.timeline.at(-1)).toMatchObject({ type: 'closed' });
    expect(await incidentAudit(tenantId)).toEqual(['sla_incident.close', 'sla_incident.open']);
    const [cleared] = await sql(`SELECT late_from FROM sla_evaluation_state WHERE tenant_id = $1`, [
      tenantId,
    ]);
    expect(cleared.late_from).toBeNull();

    // The next rollup takes the same samples again (its commit margin) and marks the minutes
    // once more: the evaluation finds the incident it made and changes nothing.
    await rollup.rollup();
    const third = await evaluation.evaluateTenant(asTenantId(tenantId));
    expect(third).toMatchObject({ opened: [], closed: [], amended: [] });
    expect(await incidentAudit(tenantId)).toEqual(['sla_incident.close', 'sla_incident.open']);
    // The month's report counted the minute all along; now its incident is listed too.
    const report = (await api.http.get(`/v1/tenants/${tenantId}/sla`).set(admin()).expect(200))
      .body;
    expect(report.badMinutes).toBe(1);
  });

  it('adds a late bad minute of another endpoint to the incident it belongs to (audited amend)', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(2);
    const [a, b] = endpoints;
    // Endpoint a's probes failed two minutes, eight minutes back: evaluated in order, that is an
    // incident closed after five good minutes.
    const S = settled();
    for (const minute of [S - 8 * M, S - 7 * M]) {
      await sql(
        `INSERT INTO sla_minutes (tenant_id, endpoint_id, minute, probes, probe_failures, probe_error)
         VALUES ($1, $2, $3, 2, 1, 'connection refused')`,
        [tenantId, a, new Date(minute)],
      );
    }
    await rollup.rollup();
    const first = await evaluation.evaluateTenant(asTenantId(tenantId));
    expect(first.opened).toHaveLength(1);
    expect(first.closed).toEqual(first.opened);
    const id = first.opened[0];
    const before = await incident(tenantId, id);
    expect(before).toMatchObject({ badMinutes: 2, endpointIds: [a] });

    // Endpoint b's failed requests of the minute after arrive late: the same outage.
    await samples(tenantId, b, S - 6 * M, 10, 10);
    await rollup.rollup();
    const second = await evaluation.evaluateTenant(asTenantId(tenantId));
    expect(second).toMatchObject({ opened: [], closed: [], amended: [id] });
    const after = await incident(tenantId, id);
    expect(after).toMatchObject({
      status: 'closed',
      startedAt: new Date(S - 8 * M).toISOString(),
      endedAt: new Date(S - 5 * M).toISOString(),
      closedAt: new Date(S).toISOString(),
      badMinutes: 3,
    });
    expect([...after.endpointIds].sort()).toEqual([a, b].sort());
    const ats = after.timeline.map((e: { at: string }) => e.at);
    expect(ats).toEqual([...ats].sort());
    expect(after.timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'endpoint_affected', endpointId: b }),
        expect.objectContaining({ type: 'cause_added', cause: 'error_rate', endpointId: b }),
      ]),
    );
    expect(await incidentAudit(tenantId)).toEqual([
      'sla_incident.amend',
      'sla_incident.close',
      'sla_incident.open',
    ]);
    const amend = (
      await api.http
        .get(`/v1/tenants/${tenantId}/audit/events?action=sla_incident.amend`)
        .set(admin())
        .expect(200)
    ).body.data[0];
    expect(amend.changes.before).toMatchObject({
      lastBadMinute: new Date(S - 7 * M).toISOString(),
    });
    expect(amend.changes.after).toMatchObject({
      lastBadMinute: new Date(S - 6 * M).toISOString(),
      badMinutes: 3,
    });
  });

  it('changes nothing when the late minutes are good', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    await rollup.rollup();
    const first = await evaluation.evaluateTenant(asTenantId(tenantId));
    const passed = first.evaluatedTo!.getTime();
    // 1 failure in 40 (2.5 %) is under the 5 % threshold: a good minute.
    await samples(tenantId, endpoints[0], passed - 4 * M, 40, 1);
    await rollup.rollup();
    const second = await evaluation.evaluateTenant(asTenantId(tenantId));
    expect(second).toMatchObject({ opened: [], closed: [], amended: [] });
    expect(await incidentAudit(tenantId)).toEqual([]);
  });
});
