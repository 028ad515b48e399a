import { asTenantId, TenantDb } from '@app/authz';
import { SlaClock, SlaEvaluationService, SlaRollupService } from '@app/sla';
import {
  bearer,
  createEndpoint,
  deployableTenant,
  expectEventually,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import { Client } from 'pg';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());
const M = 60_000;
/** SLA_SETTLE_DELAY_MS's default. */
const SETTLE_MS = 10_000;
/** SLA_INCIDENT_CLOSE_GOOD_MINUTES's default. */
const N = 5;
const MONTH = '2026-09';
const iso = (t: number) => new Date(t).toISOString();

interface Incident {
  id: string;
  status: 'open' | 'closed';
  startedAt: string;
  endedAt: string | null;
  closedAt: string | null;
  lastBadMinute: string;
  badMinutes: number;
  endpointIds: string[];
  causes: string[];
  timeline: { at: string; type: string; endpointId?: string; detail?: string }[];
}

/**
 * Minutes that arrive after the incident evaluation passed them (a long stream's failure lands in
 * the minute it started in; a worker that was away rolls up late): the rollup marks them and the
 * next evaluation makes the incidents the evaluation in order would have made — the main cases,
 * then edge cases from an adversarial review, each compared with the same minutes evaluated in
 * order. Injected SlaClock (evaluation time); the rollup runs
 * on database time and `recorded_at` (samples are written now, for minutes in September 2026).
 */
describe('SLA minutes that arrive late', () => {
  let api: TestApp;
  let clock: SlaClock;
  let rollup: SlaRollupService;
  let evaluation: SlaEvaluationService;

  const sql = (query: string, params: unknown[] = []) =>
    api.app.get(TenantDb).asPlatform('test: SLA fixtures', (m) => m.query(query, params));

  /** Evaluates the tenant with the clock set so that it is settled up to minute `t`. */
  const evaluateAt = (tenantId: string, t: number) => {
    clock.set(new Date(t + SETTLE_MS));
    return evaluation.evaluateTenant(asTenantId(tenantId));
  };

  /** On-time data: a minute whose probe failed, written straight into sla_minutes. */
  async function onTimeBad(tenantId: string, endpointId: string, ...minutes: number[]) {
    for (const minute of minutes) {
      await sql(
        `INSERT INTO sla_minutes (tenant_id, endpoint_id, minute, probes, probe_failures, probe_error)
         VALUES ($1, $2, $3, 2, 1, 'connection refused')
         ON CONFLICT (tenant_id, endpoint_id, minute) DO UPDATE SET probes = 2, probe_failures = 1`,
        [tenantId, endpointId, new Date(minute)],
      );
    }
  }

  /** Late data: `count` gateway samples that started in `minute`, written now, `failed` 503. */
  async function lateSamples(
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

  /** Late bad minutes: 10 failed samples in each. */
  async function lateBad(tenantId: string, endpointId: string, ...minutes: number[]) {
    for (const minute of minutes) await lateSamples(tenantId, endpointId, minute, 10, 10);
  }

  async function tenantWithEndpoints(count: number) {
    const tenantId = await deployableTenant(api, {
      contract: {
        termStart: new Date('2026-01-01T00:00:00Z'),
        fields: {
          sla: { availabilityTarget: 99.9, creditTiers: [{ below: 99.9, creditPercent: 10 }] },
        },
      },
    });
    const endpoints: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const id = await createEndpoint(api, tenantId, { name: `e${i}` });
      await sql(`UPDATE endpoints SET created_at = $2 WHERE id = $1`, [
        id,
        new Date('2026-09-01T00:00:00Z'),
      ]);
      endpoints.push(id);
    }
    return { tenantId, endpoints };
  }

  /** The tenant's incidents (list API), oldest first. */
  async function incidents(tenantId: string): Promise<Incident[]> {
    const list = (
      await api.http.get(`/v1/tenants/${tenantId}/sla/incidents?limit=100`).set(admin()).expect(200)
    ).body.data as Incident[];
    return list.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  async function incident(tenantId: string, id: string): Promise<Incident> {
    return (
      await api.http.get(`/v1/tenants/${tenantId}/sla/incidents/${id}`).set(admin()).expect(200)
    ).body;
  }

  async function incidentAudit(tenantId: string): Promise<string[]> {
    return (
      await api.http
        .get(`/v1/tenants/${tenantId}/audit/events?action=sla_incident&limit=100`)
        .set(admin())
        .expect(200)
    ).body.data
      .map((e: { action: string }) => e.action)
      .sort();
  }

  async function lateFrom(tenantId: string): Promise<Date | null> {
    const [state] = await sql(`SELECT late_from FROM sla_evaluation_state WHERE tenant_id = $1`, [
      tenantId,
    ]);
    return state?.late_from ?? null;
  }

  /** What should hold of a tenant's incidents at any time; each broken rule as a string. */
  async function violations(tenantId: string): Promise<string[]> {
    const now = clock.now().getTime();
    const list = await incidents(tenantId);
    const out: string[] = [];
    if (list.filter((i) => i.status === 'open').length > 1) out.push('more than one open');
    for (const i of list) {
      const name = `incident ${i.startedAt}`;
      if (i.status === 'closed') {
        if (!i.endedAt || !i.closedAt) out.push(`${name}: closed without endedAt/closedAt`);
        else {
          if (i.endedAt < i.startedAt) out.push(`${name}: endedAt ${i.endedAt} < startedAt`);
          if (i.closedAt < i.endedAt) out.push(`${name}: closedAt ${i.closedAt} < endedAt`);
          if (i.endedAt !== iso(Date.parse(i.lastBadMinute) + M))
            out.push(`${name}: endedAt ${i.endedAt} != lastBadMinute + 1 min`);
          if (Date.parse(i.closedAt) > now)
            out.push(`${name}: closedAt ${i.closedAt} after the evaluation's now ${iso(now)}`);
        }
      } else if (i.endedAt !== null || i.closedAt !== null) {
        out.push(`${name}: open with endedAt/closedAt`);
      }
      const span = (Date.parse(i.lastBadMinute) - Date.parse(i.startedAt)) / M + 1;
      if (i.badMinutes < 1 || i.badMinutes > span)
        out.push(`${name}: badMinutes ${i.badMinutes} outside 1..${span}`);
      const ats = i.timeline.map((e) => e.at);
      if (JSON.stringify(ats) !== JSON.stringify([...ats].sort()))
        out.push(`${name}: timeline not chronological`);
      if (i.timeline.length > 201) out.push(`${name}: timeline has ${i.timeline.length} entries`);
      const closes = i.timeline.filter((e) => e.type === 'closed');
      if (i.status === 'closed' && (closes.length !== 1 || i.timeline.at(-1)?.type !== 'closed'))
        out.push(`${name}: closed entry not exactly once and last`);
      if (i.status === 'closed' && closes[0] && closes[0].at !== i.closedAt)
        out.push(`${name}: closed entry at ${closes[0].at} != closedAt ${i.closedAt}`);
    }
    for (let k = 1; k < list.length; k += 1) {
      const prev = list[k - 1];
      const next = list[k];
      const prevEnd = prev.closedAt ?? '9999';
      if (prevEnd > next.startedAt)
        out.push(
          `overlap: incident ${prev.startedAt}..${prev.closedAt} (${prev.status}) and incident from ${next.startedAt} (${next.status})`,
        );
    }
    return out;
  }

  /** The incidents as (startedAt, endedAt, closedAt, badMinutes, status). */
  const shape = (list: Incident[]) =>
    list.map((i) => ({
      status: i.status,
      startedAt: i.startedAt,
      endedAt: i.endedAt,
      closedAt: i.closedAt,
      badMinutes: i.badMinutes,
    }));

  /**
   * The reference: the same bad minutes given on time to a fresh tenant and evaluated in order
   * (at `evaluatedAt`, settled up to it).
   */
  async function inOrder(bad: number[], evaluatedAt: number) {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    await onTimeBad(tenantId, endpoints[0], ...bad);
    await evaluateAt(tenantId, evaluatedAt);
    return shape(await incidents(tenantId));
  }

  beforeAll(async () => {
    api = await startApi();
    clock = api.app.get(SlaClock);
    rollup = api.app.get(SlaRollupService);
    evaluation = api.app.get(SlaEvaluationService);
  });
  afterAll(async () => {
    clock.set(null);
    await retireEndpoints(api);
    await api.close();
  });

  it('opens an incident, once, for a bad minute rolled up after it was evaluated', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const E = Date.parse('2026-09-20T12:00:00Z');
    await rollup.rollup();
    expect((await evaluateAt(tenantId, E)).opened).toEqual([]);
    // Requests that started eight minutes before where the evaluation stopped end (and are
    // written) only now: 12 of 20 failed. A good minute before them arrives late too. Five good
    // minutes were evaluated after it, so its incident is closed at once.
    const late = E - 8 * M;
    await lateSamples(tenantId, endpoints[0], late, 20, 12);
    await lateSamples(tenantId, endpoints[0], late - 2 * M, 20, 0);
    await rollup.rollup();
    expect(await lateFrom(tenantId)).toEqual(new Date(late - 2 * M));

    const second = await evaluateAt(tenantId, E);
    expect(second.opened).toHaveLength(1);
    expect(second.closed).toEqual(second.opened);
    const found = await incident(tenantId, second.opened[0]);
    expect(found).toMatchObject({
      status: 'closed',
      startedAt: iso(late),
      endedAt: iso(late + M),
      closedAt: iso(late + 6 * M),
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
    expect(await lateFrom(tenantId)).toBeNull();

    // The next rollup takes the same samples again (its commit margin) and marks the minutes
    // once more: the evaluation finds the incident it made and changes nothing.
    await rollup.rollup();
    expect(await evaluateAt(tenantId, E)).toMatchObject({ opened: [], closed: [], amended: [] });
    expect(await incidentAudit(tenantId)).toEqual(['sla_incident.close', 'sla_incident.open']);
    // The month's report counted the minute all along; now its incident is listed too.
    const report = (
      await api.http.get(`/v1/tenants/${tenantId}/sla?month=${MONTH}`).set(admin()).expect(200)
    ).body;
    expect(report.badMinutes).toBe(1);
    expect(report.incidents.map((i: Incident) => i.id)).toEqual(second.opened);
  });

  it('adds a late bad minute of another endpoint to the incident it belongs to (audited amend)', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(2);
    const [a, b] = endpoints;
    const E = Date.parse('2026-09-21T12:00:00Z');
    // Endpoint a's probes failed two minutes: evaluated in order, an incident closed after five
    // good minutes.
    await onTimeBad(tenantId, a, E - 8 * M, E - 7 * M);
    const first = await evaluateAt(tenantId, E);
    expect(first.opened).toHaveLength(1);
    expect(first.closed).toEqual(first.opened);
    const id = first.opened[0];
    expect(await incident(tenantId, id)).toMatchObject({ badMinutes: 2, endpointIds: [a] });

    // Endpoint b's failed requests of the minute after arrive late: the same outage.
    await lateBad(tenantId, b, E - 6 * M);
    await rollup.rollup();
    expect(await evaluateAt(tenantId, E)).toMatchObject({ opened: [], closed: [], amended: [id] });
    const after = await incident(tenantId, id);
    expect(after).toMatchObject({
      status: 'closed',
      startedAt: iso(E - 8 * M),
      endedAt: iso(E - 5 * M),
      closedAt: iso(E),
      badMinutes: 3,
    });
    expect([...after.endpointIds].sort()).toEqual([a, b].sort());
    const ats = after.timeline.map((e) => e.at);
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
    expect(amend.changes.before).toMatchObject({ lastBadMinute: iso(E - 7 * M), badMinutes: 2 });
    expect(amend.changes.after).toMatchObject({ lastBadMinute: iso(E - 6 * M), badMinutes: 3 });
  });

  it('changes nothing when the late minutes are good', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const E = Date.parse('2026-09-22T12:00:00Z');
    await evaluateAt(tenantId, E);
    // 1 failure in 40 (2.5 %) is under the 5 % threshold: a good minute.
    await lateSamples(tenantId, endpoints[0], E - 4 * M, 40, 1);
    await rollup.rollup();
    expect(await evaluateAt(tenantId, E)).toMatchObject({ opened: [], closed: [], amended: [] });
    expect(await incidentAudit(tenantId)).toEqual([]);
  });

  it('joins a late bad minute just before an OPEN incident: it stays open, starts earlier, counts it once', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const T = Date.parse('2026-09-02T10:00:00Z');
    await onTimeBad(tenantId, endpoints[0], T - 3 * M, T - 2 * M, T - M);
    const first = await evaluateAt(tenantId, T);
    expect(first.opened).toHaveLength(1);
    const id = first.opened[0];

    await lateBad(tenantId, endpoints[0], T - 5 * M);
    await rollup.rollup();
    expect(await lateFrom(tenantId)).toEqual(new Date(T - 5 * M));
    const second = await evaluateAt(tenantId, T);
    expect(second).toMatchObject({ opened: [], closed: [], amended: [id] });
    expect(await incident(tenantId, id)).toMatchObject({
      status: 'open',
      startedAt: iso(T - 5 * M),
      lastBadMinute: iso(T - M),
      endedAt: null,
      closedAt: null,
      badMinutes: 4,
    });
    // Again (re-marked by hand): nothing changes, nothing is audited twice.
    await sql(`UPDATE sla_evaluation_state SET late_from = $2 WHERE tenant_id = $1`, [
      tenantId,
      new Date(T - 10 * M),
    ]);
    expect(await evaluateAt(tenantId, T)).toMatchObject({ opened: [], closed: [], amended: [] });
    // The open incident goes on in order and closes after N good minutes.
    await onTimeBad(tenantId, endpoints[0], T);
    await evaluateAt(tenantId, T + 10 * M);
    expect(await incident(tenantId, id)).toMatchObject({
      status: 'closed',
      startedAt: iso(T - 5 * M),
      endedAt: iso(T + M),
      closedAt: iso(T + (N + 1) * M),
      badMinutes: 5,
    });
    expect(await incidentAudit(tenantId)).toEqual([
      'sla_incident.amend',
      'sla_incident.close',
      'sla_incident.open',
    ]);
    expect(await violations(tenantId)).toEqual([]);
  });

  it("keeps an open incident's timeline starting with its opened entry when a late minute of another endpoint moves its start earlier", async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(2);
    const [a, b] = endpoints;
    const T = Date.parse('2026-09-02T14:00:00Z');
    await onTimeBad(tenantId, a, T - 2 * M, T - M);
    const [id] = (await evaluateAt(tenantId, T)).opened;
    await lateBad(tenantId, b, T - 4 * M);
    await rollup.rollup();
    await evaluateAt(tenantId, T);
    const after = await incident(tenantId, id);
    expect(after.startedAt).toBe(iso(T - 4 * M));
    expect(after.timeline[0]).toMatchObject({ type: 'opened', at: after.startedAt });
  });

  it('a late bad minute between two closed incidents (which makes them one) leaves no overlapping incidents', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const b = Date.parse('2026-09-03T10:00:00Z');
    // In order: A = [b] closed at b+6, B = [b+8] closed at b+14.
    await onTimeBad(tenantId, endpoints[0], b, b + 8 * M);
    const first = await evaluateAt(tenantId, b + 20 * M);
    expect(first.opened).toHaveLength(2);
    expect(await violations(tenantId)).toEqual([]);

    // b+4 arrives late: in order, b, b+4, b+8 are one incident (never N good minutes between).
    await lateBad(tenantId, endpoints[0], b + 4 * M);
    await rollup.rollup();
    await evaluateAt(tenantId, b + 20 * M);
    const reference = await inOrder([b, b + 4 * M, b + 8 * M], b + 20 * M);
    expect({
      violations: await violations(tenantId),
      incidents: shape(await incidents(tenantId)),
    }).toEqual({ violations: [], incidents: reference });
  });

  it("a late bad minute between a closed and an OPEN incident does not move the open one's minutes into the closed one", async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const b = Date.parse('2026-09-03T18:00:00Z');
    // In order: A = [b] closed at b+6; O = [b+8..b+10] still open at b+12.
    await onTimeBad(tenantId, endpoints[0], b, b + 8 * M, b + 9 * M, b + 10 * M);
    const first = await evaluateAt(tenantId, b + 12 * M);
    expect(first.opened).toHaveLength(2);
    await lateBad(tenantId, endpoints[0], b + 4 * M);
    await rollup.rollup();
    await evaluateAt(tenantId, b + 12 * M);
    const reference = await inOrder([b, b + 4 * M, b + 8 * M, b + 9 * M, b + 10 * M], b + 12 * M);
    expect({
      violations: await violations(tenantId),
      incidents: shape(await incidents(tenantId)),
    }).toEqual({ violations: [], incidents: reference });
  });

  it('late minutes before a closed incident (one within N minutes of it, one further) leave no overlapping incidents', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const b = Date.parse('2026-09-03T14:00:00Z');
    await onTimeBad(tenantId, endpoints[0], b);
    await evaluateAt(tenantId, b + 20 * M);
    await lateBad(tenantId, endpoints[0], b - 8 * M, b - 4 * M);
    await rollup.rollup();
    await evaluateAt(tenantId, b + 20 * M);
    const reference = await inOrder([b - 8 * M, b - 4 * M, b], b + 20 * M);
    expect({
      violations: await violations(tenantId),
      incidents: shape(await incidents(tenantId)),
    }).toEqual({ violations: [], incidents: reference });
  });

  it('several late minutes spanning more than SLA_INCIDENT_CLOSE_GOOD_MINUTES make the incidents the in-order evaluation makes', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const L = Date.parse('2026-09-04T10:00:00Z');
    await evaluateAt(tenantId, L + 40 * M);
    // One good minute between each (L..L+12), then exactly N good ones, then L+18; then L+30.
    const bad = [0, 2, 4, 6, 8, 10, 12, 18, 30].map((k) => L + k * M);
    await lateBad(tenantId, endpoints[0], ...bad);
    await rollup.rollup();
    const result = await evaluateAt(tenantId, L + 40 * M);
    expect(result.opened).toHaveLength(3);
    expect(result.closed.sort()).toEqual([...result.opened].sort());
    const reference = await inOrder(bad, L + 40 * M);
    expect(shape(await incidents(tenantId))).toEqual(reference);
    expect(reference).toEqual([
      expect.objectContaining({ startedAt: iso(L), badMinutes: 7, closedAt: iso(L + 18 * M) }),
      expect.objectContaining({ startedAt: iso(L + 18 * M), badMinutes: 1 }),
      expect.objectContaining({ startedAt: iso(L + 30 * M), badMinutes: 1 }),
    ]);
    expect(await violations(tenantId)).toEqual([]);
    expect(await incidentAudit(tenantId)).toEqual([
      ...Array(3).fill('sla_incident.close'),
      ...Array(3).fill('sla_incident.open'),
    ]);
  });

  it('ignores a late bad minute inside a maintenance window', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const T = Date.parse('2026-09-05T10:00:00Z');
    await evaluateAt(tenantId, T);
    await sql(
      `INSERT INTO maintenance_windows (tenant_id, starts_at, ends_at, reason)
       VALUES ($1, $2, $3, 'planned')`,
      [tenantId, new Date(T - 20 * M), new Date(T - 10 * M)],
    );
    await lateBad(tenantId, endpoints[0], T - 15 * M);
    await rollup.rollup();
    expect(await lateFrom(tenantId)).toEqual(new Date(T - 15 * M));
    expect(await evaluateAt(tenantId, T + M)).toMatchObject({
      opened: [],
      closed: [],
      amended: [],
    });
    expect(await lateFrom(tenantId)).toBeNull();
    expect(await incidents(tenantId)).toEqual([]);
  });

  it('a late bad minute older than the one-day lookback: cleared, nothing made, no error', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const T = Date.parse('2026-09-07T10:00:00Z');
    await evaluateAt(tenantId, T - 2 * 3_600_000);
    await lateBad(tenantId, endpoints[0], T - 25 * 3_600_000);
    await rollup.rollup();
    expect(await lateFrom(tenantId)).toEqual(new Date(T - 25 * 3_600_000));
    const result = await evaluateAt(tenantId, T);
    expect(result).toMatchObject({ opened: [], amended: [] });
    expect(await lateFrom(tenantId)).toBeNull();
    expect(await incidents(tenantId)).toEqual([]);
    // (The month's report counts the minute bad; no incident will ever list it.)
    const report = (
      await api.http.get(`/v1/tenants/${tenantId}/sla?month=${MONTH}`).set(admin()).expect(200)
    ).body;
    expect(report.badMinutes).toBe(1);
  });

  it('a found-late incident next to where the evaluation stopped is not closed after the evaluation’s now', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const e = Date.parse('2026-09-08T10:00:00Z');
    await evaluateAt(tenantId, e);
    await lateBad(tenantId, endpoints[0], e - M);
    await rollup.rollup();
    const result = await evaluateAt(tenantId, e);
    expect(result.opened).toHaveLength(1);
    const found = await incident(tenantId, result.opened[0]);
    // In order it would still be open (recovering): only 0 good minutes after it were seen.
    expect({ status: found.status, closedAt: found.closedAt }).toEqual({
      status: 'open',
      closedAt: null,
    });
  });

  it('a bad minute right after a late one does not open a second incident overlapping the found one', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const e = Date.parse('2026-09-08T14:00:00Z');
    await evaluateAt(tenantId, e);
    await lateBad(tenantId, endpoints[0], e - M);
    await onTimeBad(tenantId, endpoints[0], e);
    await rollup.rollup();
    await evaluateAt(tenantId, e + M);
    const reference = await inOrder([e - M, e], e + M);
    expect({
      violations: await violations(tenantId),
      incidents: shape(await incidents(tenantId)),
    }).toEqual({ violations: [], incidents: reference });
  });

  it("a late minute at the end of a closed incident's recovery does not push its closedAt past the next incident's start", async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const a = Date.parse('2026-09-09T10:00:00Z');
    await onTimeBad(tenantId, endpoints[0], a);
    const first = await evaluateAt(tenantId, a + (N + 1) * M);
    expect(first.closed).toHaveLength(1); // closedAt a+6 = where it stopped
    await lateBad(tenantId, endpoints[0], a + N * M);
    await onTimeBad(tenantId, endpoints[0], a + (N + 1) * M);
    await rollup.rollup();
    await evaluateAt(tenantId, a + (N + 2) * M);
    const reference = await inOrder([a, a + N * M, a + (N + 1) * M], a + (N + 2) * M);
    expect({
      violations: await violations(tenantId),
      incidents: shape(await incidents(tenantId)),
    }).toEqual({ violations: [], incidents: reference });
  });

  it('evaluating (and re-marking) twice in a row makes no duplicate incidents or audit events', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(2);
    const [a, b] = endpoints;
    const T = Date.parse('2026-09-10T10:00:00Z');
    // A closed incident on a at T-30, an open one on a from T-3.
    await onTimeBad(tenantId, a, T - 30 * M, T - 3 * M, T - 2 * M);
    await evaluateAt(tenantId, T);
    // Late: b joins the closed one, a minute before the open one, a lone one at T-60.
    await lateBad(tenantId, b, T - 29 * M);
    await lateBad(tenantId, a, T - 5 * M, T - 60 * M);
    await rollup.rollup();
    const first = await evaluateAt(tenantId, T);
    expect(first.opened).toHaveLength(1);
    expect(first.amended).toHaveLength(2);
    const audit = await incidentAudit(tenantId);
    const list = await incidents(tenantId);
    for (let k = 0; k < 3; k += 1) {
      await rollup.rollup();
      await sql(`UPDATE sla_evaluation_state SET late_from = $2 WHERE tenant_id = $1`, [
        tenantId,
        new Date(T - 120 * M),
      ]);
      expect(await evaluateAt(tenantId, T)).toMatchObject({ opened: [], closed: [], amended: [] });
      expect(await evaluateAt(tenantId, T)).toMatchObject({ opened: [], closed: [], amended: [] });
    }
    expect(await incidentAudit(tenantId)).toEqual(audit);
    expect(await incidents(tenantId)).toEqual(list);
    expect(list).toHaveLength(3);
    expect(await violations(tenantId)).toEqual([]);
  });

  it('keeps the timeline chronological and within its cap (200 entries and the close) when a late minute joins a long incident', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(2);
    const [a, b] = endpoints;
    const B = Date.parse('2026-09-11T00:00:00Z');
    // 210 bad minutes with a good one between each: one incident, a recovering entry per gap.
    await sql(
      `INSERT INTO sla_minutes (tenant_id, endpoint_id, minute, probes, probe_failures, probe_error)
       SELECT $1, $2, $3::timestamptz + (2 * i) * interval '1 minute', 2, 1, 'refused'
         FROM generate_series(0, 209) i`,
      [tenantId, a, new Date(B)],
    );
    const first = await evaluateAt(tenantId, B + 440 * M);
    expect(first.closed).toHaveLength(1);
    const id = first.closed[0];
    const before = await incident(tenantId, id);
    expect(before.timeline.length).toBeLessThanOrEqual(201);
    // Late: b fails in the middle, and a minute before the start.
    await lateBad(tenantId, b, B + 101 * M, B - 2 * M);
    await rollup.rollup();
    const second = await evaluateAt(tenantId, B + 440 * M);
    expect(second.amended).toEqual([id]);
    const after = await incident(tenantId, id);
    // 210 on time, b's minute in a gap between a's and the one before the start.
    expect(after).toMatchObject({ startedAt: iso(B - 2 * M), badMinutes: 212 });
    expect([...after.endpointIds].sort()).toEqual([a, b].sort());
    expect(after.timeline.length).toBeLessThanOrEqual(201);
    expect(after.timeline[0]).toMatchObject({ type: 'opened' });
    expect(after.timeline.at(-1)).toMatchObject({ type: 'closed', at: after.closedAt });
    expect(await violations(tenantId)).toEqual([]);
  });

  it('the list/GET API and the month report agree after late minutes (ids, spans, badMinutes)', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const T = Date.parse('2026-09-12T10:00:00Z');
    await onTimeBad(tenantId, endpoints[0], T - 40 * M, T - 38 * M);
    await evaluateAt(tenantId, T);
    await lateBad(tenantId, endpoints[0], T - 20 * M, T - 36 * M);
    await rollup.rollup();
    await evaluateAt(tenantId, T);
    const list = await incidents(tenantId);
    for (const i of list) expect(await incident(tenantId, i.id)).toEqual(i);
    const report = (
      await api.http.get(`/v1/tenants/${tenantId}/sla?month=${MONTH}`).set(admin()).expect(200)
    ).body;
    expect(report.badMinutes).toBe(4);
    expect(report.incidents.map((i: Incident) => i.id).sort()).toEqual(
      list.map((i) => i.id).sort(),
    );
    for (const r of report.incidents as Incident[]) {
      const i = list.find((x) => x.id === r.id)!;
      expect(r).toMatchObject({
        startedAt: i.startedAt,
        endedAt: i.endedAt,
        badMinutes: i.badMinutes,
        status: i.status,
      });
    }
    expect(await violations(tenantId)).toEqual([]);
  });

  it("counts a late bad minute inside a closed incident's recovery in its badMinutes (as the report does)", async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const T = Date.parse('2026-09-12T14:00:00Z');
    // In order: bad, good, bad: one incident of 2 bad minutes.
    await onTimeBad(tenantId, endpoints[0], T - 30 * M, T - 28 * M);
    const [id] = (await evaluateAt(tenantId, T)).opened;
    // The good minute between was in fact bad (its long requests ended only now).
    await lateBad(tenantId, endpoints[0], T - 29 * M);
    await rollup.rollup();
    await evaluateAt(tenantId, T);
    const report = (
      await api.http.get(`/v1/tenants/${tenantId}/sla?month=${MONTH}`).set(admin()).expect(200)
    ).body;
    expect(report.badMinutes).toBe(3);
    expect((await incident(tenantId, id)).badMinutes).toBe(report.badMinutes);
  });

  it("never touches another tenant's incidents, state or audit", async () => {
    const x = await tenantWithEndpoints(1);
    const y = await tenantWithEndpoints(1);
    const T = Date.parse('2026-09-13T10:00:00Z');
    await onTimeBad(x.tenantId, x.endpoints[0], T - 10 * M);
    await onTimeBad(y.tenantId, y.endpoints[0], T - 10 * M);
    await evaluateAt(x.tenantId, T);
    await evaluateAt(y.tenantId, T);
    const xIncidents = await incidents(x.tenantId);
    const xAudit = await incidentAudit(x.tenantId);
    // Only y's data arrives late, at the same minutes.
    await lateBad(y.tenantId, y.endpoints[0], T - 9 * M, T - 30 * M);
    await rollup.rollup();
    expect(await lateFrom(x.tenantId)).toBeNull();
    expect(await lateFrom(y.tenantId)).toEqual(new Date(T - 30 * M));
    const result = await evaluateAt(y.tenantId, T);
    expect(result.opened).toHaveLength(1);
    expect(result.amended).toHaveLength(1);
    expect(await incidents(x.tenantId)).toEqual(xIncidents);
    expect(await incidentAudit(x.tenantId)).toEqual(xAudit);
    expect(await evaluateAt(x.tenantId, T)).toMatchObject({ opened: [], closed: [], amended: [] });
  });

  it('concurrent rollup and evaluation (Promise.all, several rounds) lose no late minute and make no duplicates', async () => {
    const { tenantId, endpoints } = await tenantWithEndpoints(1);
    const E = Date.parse('2026-09-14T10:00:00Z');
    await rollup.rollup();
    await evaluateAt(tenantId, E);
    const late: number[] = [];
    const rounds = 8;
    for (let k = 1; k <= rounds; k += 1) {
      // A late bad minute well behind where the evaluation stopped (10 min apart: own incident).
      const minute = E - 200 * M + k * 10 * M;
      late.push(minute);
      await lateBad(tenantId, endpoints[0], minute);
      clock.set(new Date(E + SETTLE_MS));
      await Promise.all([
        rollup.rollup(),
        evaluation.evaluateTenant(asTenantId(tenantId)),
        evaluation.evaluateTenant(asTenantId(tenantId)),
      ]);
    }
    await rollup.rollup();
    await evaluateAt(tenantId, E);
    await evaluateAt(tenantId, E);
    const list = await incidents(tenantId);
    expect(list.map((i) => i.startedAt)).toEqual(late.map(iso));
    expect(list.every((i) => i.badMinutes === 1 && i.status === 'closed')).toBe(true);
    expect(await incidentAudit(tenantId)).toEqual([
      ...Array(rounds).fill('sla_incident.close'),
      ...Array(rounds).fill('sla_incident.open'),
    ]);
    expect(await violations(tenantId)).toEqual([]);
  });

  describe('a rollup in flight while an evaluation passes its minute', () => {
    let locker: Client;
    let observer: Client;
    beforeAll(async () => {
      locker = new Client({ connectionString: process.env.DATABASE_URL });
      observer = new Client({ connectionString: process.env.DATABASE_URL });
      await locker.connect();
      await observer.connect();
    });
    afterAll(async () => {
      await locker.end();
      await observer.end();
    });

    it('a minute the rollup writes (uncommitted) just before the evaluation passes it is still evaluated or marked late', async () => {
      const { tenantId, endpoints } = await tenantWithEndpoints(1);
      const E = Date.parse('2026-09-14T14:00:00Z');
      await rollup.rollup(); // sla_rollup_state exists
      await evaluateAt(tenantId, E);
      // Requests that started at E+1 min (not yet evaluated: not late) fail; written now.
      const X = E + M;
      await lateBad(tenantId, endpoints[0], X);
      // Hold the rollup after it wrote (and did not mark) minute X, before it commits: the
      // rollup-state row is locked, so its upsert of it waits.
      await locker.query('BEGIN');
      await locker.query('SELECT * FROM sla_rollup_state FOR UPDATE');
      const running = rollup.rollup();
      await expectEventually(async () => {
        const { rows } = await observer.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND query LIKE '%INTO sla_rollup_state%'`,
        );
        expect(Number(rows[0].n)).toBe(1);
      });
      // An evaluation meanwhile waits for the rollup (it never reads beside one), so it sees X.
      const during = evaluateAt(tenantId, E + 5 * M);
      await expectEventually(async () => {
        const { rows } = await observer.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND query LIKE '%pg_advisory_xact_lock_shared%'`,
        );
        expect(Number(rows[0].n)).toBe(1);
      });
      await locker.query('COMMIT');
      await running;
      expect((await during).opened).toHaveLength(1);
      await evaluateAt(tenantId, E + 6 * M);
      expect((await incidents(tenantId)).map((i) => i.startedAt)).toEqual([iso(X)]);
    });
  });
});
