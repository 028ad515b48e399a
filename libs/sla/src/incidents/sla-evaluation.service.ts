import { AuditService } from '@app/audit';
import { asTenantId, TenantDb, TenantId } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { EndpointDirectory } from '@app/endpoints';
import { ContractService, SlaTerms } from '@app/tenancy';
import { WebhookService } from '@app/webhooks';
import { Injectable, Logger } from '@nestjs/common';
import {
  BURN_RATE_RULES,
  burnRate,
  countMinutes,
  excludedIntervals,
  floorTo,
  Interval,
  isExcluded,
  measuredInterval,
  sumCounts,
} from '../availability/availability';
import { quantile } from '../histogram/latency-histogram';
import { MaintenanceWindowService } from '../maintenance/maintenance-window.service';
import { badMinuteStarts, isBadMinute, MinuteRow, minuteRows } from '../signals/sla-minutes';
import { SlaClock } from '../sla-clock';
import { SlaMetrics } from '../sla-metrics';
import { IncidentCause, SLA_BURN_RATE_ALERT_EVENT } from '../sla.constants';
import { IncidentTimelineEntry } from './sla-incident.entity';

/** An incident opened at minute `t` (epoch ms); `detail` goes on its `opened` entry. */
function newIncident(t: number, detail?: string): WorkingIncident {
  return {
    id: null,
    startedAt: t,
    lastBadMinute: t,
    closedAt: null,
    causes: [],
    endpointIds: [],
    badMinutes: 1,
    timeline: [{ at: new Date(t).toISOString(), type: 'opened', ...(detail ? { detail } : {}) }],
    recovering: false,
    changed: true,
  };
}

/** An endpoint affected in a minute, and why. */
interface Affected {
  endpointId: string;
  causes: IncidentCause[];
  detail?: string;
}

/** An incident row as the evaluation reads it. */
interface IncidentRow {
  id: string;
  status: 'open' | 'closed';
  started_at: Date;
  last_bad_minute: Date;
  closed_at: Date | null;
  causes: IncidentCause[];
  endpoint_ids: string[];
  bad_minutes: number;
  timeline: IncidentTimelineEntry[];
}

/** A stored incident as the evaluation works on it. */
function workingOf(row: IncidentRow): WorkingIncident {
  return {
    id: row.id,
    startedAt: row.started_at.getTime(),
    lastBadMinute: row.last_bad_minute.getTime(),
    closedAt: row.closed_at?.getTime() ?? null,
    causes: row.causes,
    endpointIds: row.endpoint_ids,
    badMinutes: row.bad_minutes,
    timeline: row.timeline,
    recovering: false,
    changed: false,
  };
}

/** Whether the late-minute pass left a stored incident as it was. */
function sameIncident(row: IncidentRow, incident: WorkingIncident): boolean {
  return (
    row.started_at.getTime() === incident.startedAt &&
    row.last_bad_minute.getTime() === incident.lastBadMinute &&
    (row.closed_at?.getTime() ?? null) === incident.closedAt &&
    row.bad_minutes === incident.badMinutes &&
    JSON.stringify(row.causes) === JSON.stringify(incident.causes) &&
    JSON.stringify(row.endpoint_ids) === JSON.stringify(incident.endpointIds) &&
    JSON.stringify(row.timeline) === JSON.stringify(incident.timeline)
  );
}

/** A first evaluation (no state yet) looks back at most this far, ms (one day). */
const FIRST_EVALUATION_LOOKBACK_MS = 24 * 3_600_000;
/** Timeline entries kept per incident (the first ones and the close). */
const MAX_TIMELINE = 200;
const SYSTEM_ACTOR = { type: 'system' as const, id: 'sla-monitor' };

/** An incident as the evaluation holds it between reading and writing. */
interface WorkingIncident {
  id: string | null;
  startedAt: number;
  lastBadMinute: number;
  closedAt: number | null;
  causes: IncidentCause[];
  endpointIds: string[];
  badMinutes: number;
  timeline: IncidentTimelineEntry[];
  recovering: boolean;
  changed: boolean;
}

/** What a burn-rate alert says (audit `changes.after` and the webhook's `data`). */
export interface BurnRateAlertPayload {
  alertId: string;
  tenantId: string;
  severity: 'fast' | 'slow';
  availabilityTarget: number;
  /** The minute edge the windows end at, ISO 8601. */
  at: string;
  longWindowMinutes: number;
  shortWindowMinutes: number;
  factor: number;
  longBurnRate: number;
  shortBurnRate: number;
}

/** What one tenant's evaluation did. */
export interface EvaluationResult {
  evaluatedTo: Date | null;
  opened: string[];
  closed: string[];
  /** Incidents changed by minutes whose data arrived after they were evaluated. */
  amended: string[];
  alerts: BurnRateAlertPayload[];
}

/**
 * Evaluates the rolled-up minutes of each tenant (issue 11, "Incidents" and "Burn-rate alerts"),
 * minute by minute in order, from where the last evaluation stopped up to the last settled
 * minute (ended SLA_SETTLE_DELAY_MS ago):
 *
 * - an endpoint is **affected** in a minute that is bad (cause `probe_failure` or `error_rate`)
 *   or slow (cause `latency`: the minute's p95 total time or time to first byte, from its
 *   histograms, above the contract's target); minutes in maintenance windows affect nothing;
 * - the tenant's first affected minute opens an incident (`sla_incident.open` audit event);
 *   later affected endpoints and causes join it (timeline); after SLA_INCIDENT_CLOSE_GOOD_MINUTES
 *   minutes with no affected endpoint it closes (`sla_incident.close`), `endedAt` being the end
 *   of its last affected minute;
 * - then the error budget's burn rate is measured at the last settled minute over the windows of
 *   {@link BURN_RATE_RULES}; a rule whose two windows both burn at least its factor opens an
 *   alert episode (a row, a `sla.burn_rate_alert` audit event and a signed webhook, in one
 *   transaction), fired once: the episode ends (`sla.burn_rate_alert_resolved`) when the
 *   condition no longer holds, and only a new episode fires again.
 *
 * Each tenant is evaluated in its own transaction holding its evaluation-state row, so two
 * workers never evaluate a minute twice.
 */
@Injectable()
export class SlaEvaluationService {
  private readonly logger = new Logger('SlaEvaluation');

  constructor(
    private readonly db: TenantDb,
    private readonly contracts: ContractService,
    private readonly endpoints: EndpointDirectory,
    private readonly maintenance: MaintenanceWindowService,
    private readonly audit: AuditService,
    private readonly webhooks: WebhookService,
    private readonly clock: SlaClock,
    private readonly metrics: SlaMetrics,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Evaluates every tenant with recent minutes, an open incident or an open alert. */
  async evaluateAll(): Promise<number> {
    const now = this.clock.now();
    const tenants: { tenant_id: TenantId }[] = await this.db.asPlatform(
      'sla: tenants to evaluate',
      (manager) =>
        manager.query(
          `SELECT DISTINCT tenant_id FROM sla_minutes WHERE minute >= $1
           UNION SELECT tenant_id FROM sla_incidents WHERE status = 'open'
           UNION SELECT tenant_id FROM sla_burn_rate_alerts WHERE ended_at IS NULL`,
          [new Date(now.getTime() - FIRST_EVALUATION_LOOKBACK_MS)],
        ),
    );
    let evaluated = 0;
    for (const { tenant_id } of tenants) {
      try {
        await this.evaluateTenant(asTenantId(tenant_id));
        evaluated += 1;
      } catch (error) {
        // One tenant's failure must not starve the others; the next run retries it.
        this.logger.warn({ tenantId: tenant_id, err: error }, 'SLA evaluation failed');
      }
    }
    const [open]: { n: number }[] = await this.db.asPlatform('sla: open incidents', (manager) =>
      manager.query(`SELECT count(*)::int AS n FROM sla_incidents WHERE status = 'open'`),
    );
    this.metrics.openIncidents.set(open.n);
    return evaluated;
  }

  /** Evaluates one tenant up to its last settled minute, in one transaction. */
  evaluateTenant(tenantId: TenantId): Promise<EvaluationResult> {
    return this.db.run({ kind: 'tenant', tenantId }, async () => {
      const manager = this.db.manager;
      const m = this.config.SLA_MINUTE_MS;
      // Never beside a rollup (which holds this lock exclusively): the minutes read here are all
      // it has committed, and a minute it writes after this commits is one it marks late.
      await manager.query(`SELECT pg_advisory_xact_lock_shared(hashtext('sla_rollup'))`);
      const now = this.clock.now();
      const settledTo = floorTo(now.getTime() - this.config.SLA_SETTLE_DELAY_MS, m);
      await manager.query(
        `INSERT INTO sla_evaluation_state (tenant_id, evaluated_to) VALUES ($1, $2)
         ON CONFLICT DO NOTHING`,
        [tenantId, new Date(floorTo(now.getTime() - FIRST_EVALUATION_LOOKBACK_MS, m))],
      );
      const [state]: { evaluated_to: Date; late_from: Date | null }[] = await manager.query(
        `SELECT evaluated_to, late_from FROM sla_evaluation_state WHERE tenant_id = $1 FOR UPDATE`,
        [tenantId],
      );
      const lookback = floorTo(now.getTime() - FIRST_EVALUATION_LOOKBACK_MS, m);
      const from = Math.max(state.evaluated_to.getTime(), lookback);
      const result: EvaluationResult = {
        evaluatedTo: null,
        opened: [],
        closed: [],
        amended: [],
        alerts: [],
      };
      if (state.late_from) {
        const lateFrom = Math.max(floorTo(state.late_from.getTime(), m), lookback);
        if (lateFrom < state.evaluated_to.getTime()) {
          await this.evaluateLateMinutes(tenantId, lateFrom, state.evaluated_to.getTime(), result);
        }
        await manager.query(
          `UPDATE sla_evaluation_state SET late_from = NULL WHERE tenant_id = $1`,
          [tenantId],
        );
      }
      if (from >= settledTo) return result;
      const contract = await this.contracts.inForce(tenantId, new Date(settledTo - 1));
      const sla = contract?.version.sla ?? null;
      const burnFrom = settledTo - Math.max(...BURN_RATE_RULES.map((r) => r.longMinutes)) * m;
      const windows = await this.maintenance.overlapping(
        tenantId,
        new Date(Math.min(from, burnFrom)),
        new Date(settledTo),
      );
      const excluded = excludedIntervals(windows, m);
      const rows = await minuteRows(manager, tenantId, new Date(from), new Date(settledTo));
      await this.evaluateIncidents(tenantId, rows, excluded, sla, from, settledTo, result);
      await manager.query(
        `UPDATE sla_evaluation_state SET evaluated_to = $2 WHERE tenant_id = $1`,
        [tenantId, new Date(settledTo)],
      );
      result.evaluatedTo = new Date(settledTo);
      if (sla) await this.evaluateBurnRates(tenantId, sla, excluded, settledTo, result);
      return result;
    });
  }

  private async evaluateIncidents(
    tenantId: TenantId,
    rows: MinuteRow[],
    excluded: Interval[],
    sla: SlaTerms | null,
    from: number,
    to: number,
    result: EvaluationResult,
  ): Promise<void> {
    const m = this.config.SLA_MINUTE_MS;
    const closeAfter = this.config.SLA_INCIDENT_CLOSE_GOOD_MINUTES;
    const affectedAt = this.affectedByMinute(rows, excluded, sla);
    const incidents: WorkingIncident[] = [];
    const [open]: IncidentRow[] = await this.db.manager.query(
      `SELECT id, status, started_at, last_bad_minute, closed_at, causes, endpoint_ids,
              bad_minutes, timeline
         FROM sla_incidents WHERE tenant_id = $1 AND status = 'open' FOR UPDATE`,
      [tenantId],
    );
    let current: WorkingIncident | null = open ? workingOf(open) : null;
    if (current) incidents.push(current);
    let bad = 0;
    for (let t = from; t < to; t += m) {
      const affected = affectedAt.get(t) ?? [];
      bad += affected.filter((a) => a.causes.some((c) => c !== 'latency')).length;
      const at = new Date(t).toISOString();
      if (affected.length > 0) {
        if (!current) {
          current = newIncident(t);
          incidents.push(current);
        } else {
          current.badMinutes += 1;
        }
        current.changed = true;
        current.lastBadMinute = t;
        current.recovering = false;
        this.join(current, at, affected);
      } else if (current) {
        if (!current.recovering) {
          current.recovering = true;
          current.changed = true;
          this.note(current, { at, type: 'recovering' });
        }
        if (t + m - (current.lastBadMinute + m) >= closeAfter * m) {
          current.closedAt = t + m;
          current.changed = true;
          current.timeline.push({
            at: new Date(t + m).toISOString(),
            type: 'closed',
            detail: `${closeAfter} good minutes`,
          });
          current = null;
        }
      }
    }
    if (bad > 0) this.metrics.badMinutes.inc(bad);
    // Closed ones first: at most one incident may be open per tenant.
    incidents.sort((a, b) => Number(a.closedAt === null) - Number(b.closedAt === null));
    for (const incident of incidents.filter((i) => i.changed)) {
      await this.save(tenantId, incident, result);
    }
  }

  /**
   * Looks again at minutes in [from, to) that the rollup rewrote after this evaluation had passed
   * them (`late_from`): a long stream's failure lands in the minute it started in, and a worker
   * that was away rolls up late. The incidents are made what the evaluation in order would have
   * made had the minutes been there: the affected late minutes (as {@link affected} judges them,
   * maintenance windows excluded) and the incidents near them are taken as spans in time order,
   * and a span that starts within SLA_INCIDENT_CLOSE_GOOD_MINUTES of the previous one's last
   * affected minute (or after an open one) joins it. Each group becomes one incident:
   *
   * - the earliest incident of the group keeps its id and takes in the others' spans, endpoints,
   *   causes and timelines (the others are removed); its bad minutes are counted again from the
   *   minutes of its span; it is open when a member was open or fewer than N good minutes have
   *   been evaluated after its last affected minute, else closed N good minutes after it. A
   *   change is audited `sla_incident.amend` (before and after, and the ids merged into it);
   * - a group of late minutes alone becomes a new incident (`sla_incident.open`, and
   *   `sla_incident.close` when closed), its `opened` entry saying it was found late.
   *
   * Idempotent: a group already made is found unchanged and nothing is written.
   */
  private async evaluateLateMinutes(
    tenantId: TenantId,
    from: number,
    to: number,
    result: EvaluationResult,
  ): Promise<void> {
    const m = this.config.SLA_MINUTE_MS;
    const near = this.config.SLA_INCIDENT_CLOSE_GOOD_MINUTES * m;
    const manager = this.db.manager;
    const contract = await this.contracts.inForce(tenantId, new Date(to - 1));
    const sla = contract?.version.sla ?? null;
    // Incidents that a late minute may join or merge with (one open at most, taking any later).
    const rows: IncidentRow[] = await manager.query(
      `SELECT id, status, started_at, last_bad_minute, closed_at, causes, endpoint_ids,
              bad_minutes, timeline
         FROM sla_incidents
        WHERE tenant_id = $1 AND started_at < $3 AND (status = 'open' OR last_bad_minute >= $2)
        ORDER BY started_at, id FOR UPDATE`,
      [tenantId, new Date(from - 2 * near - m), new Date(to + near + m)],
    );
    // The affected minutes of the late span and of those incidents' spans, read once: the late
    // ones decide the groups, all of them each group's bad minutes.
    const spanFrom = Math.min(from, ...rows.map((row) => row.started_at.getTime()));
    const spanTo = Math.max(to, ...rows.map((row) => row.last_bad_minute.getTime() + m));
    const affectedAll = await this.affectedMinutes(tenantId, sla, spanFrom, spanTo);
    const affectedIn = new Map([...affectedAll].filter(([t]) => t >= from && t < to));
    if (affectedIn.size === 0) return;
    const detail = 'found late: its data arrived after the minute was evaluated';
    type Span = { start: number; last: number; open: boolean; row?: IncidentRow; minute?: number };
    const spans: Span[] = [
      ...rows.map((row): Span => ({
        start: row.started_at.getTime(),
        last: row.last_bad_minute.getTime(),
        open: row.status === 'open',
        row,
      })),
      ...[...affectedIn.keys()].map((t): Span => ({ start: t, last: t, open: false, minute: t })),
    ].sort((a, b) => a.start - b.start || Number(!a.row) - Number(!b.row));
    const groups: { spans: Span[]; last: number; open: boolean }[] = [];
    for (const span of spans) {
      const group = groups.at(-1);
      if (group && (group.open || span.start < group.last + m + near)) {
        group.spans.push(span);
        group.last = Math.max(group.last, span.last);
        group.open ||= span.open;
      } else {
        groups.push({ spans: [span], last: span.last, open: span.open });
      }
    }
    const changed = groups.filter((g) => g.spans.some((span) => span.minute !== undefined));
    const merges: { survivor: WorkingIncident; before: IncidentRow; merged: string[] }[] = [];
    const made: WorkingIncident[] = [];
    const removed: string[] = [];
    for (const group of changed) {
      const members = group.spans.flatMap((span) => (span.row ? [span.row] : []));
      const [first, ...others] = members;
      const start = group.spans[0].start;
      const open = group.open || group.last + m + near > to;
      const incident: WorkingIncident = first
        ? {
            ...workingOf(first),
            causes: [...first.causes],
            endpointIds: [...first.endpoint_ids],
            timeline: first.timeline.filter((e) => e.type !== 'closed'),
          }
        : newIncident(start, detail);
      for (const other of others) {
        for (const endpointId of other.endpoint_ids) {
          if (!incident.endpointIds.includes(endpointId)) incident.endpointIds.push(endpointId);
        }
        for (const cause of other.causes) {
          if (!incident.causes.includes(cause)) incident.causes.push(cause);
        }
        incident.timeline.push(
          ...other.timeline.filter((e) => e.type !== 'opened' && e.type !== 'closed'),
        );
      }
      for (const span of group.spans) {
        if (span.minute === undefined) continue;
        const at = new Date(span.minute).toISOString();
        this.join(incident, at, affectedIn.get(span.minute)!, detail);
      }
      incident.startedAt = start;
      incident.lastBadMinute = group.last;
      // Counted again from the span's minutes (a late minute may fall inside it).
      incident.badMinutes = [...affectedAll.keys()].filter(
        (t) => t >= start && t <= group.last,
      ).length;
      const opened = incident.timeline.find((e) => e.type === 'opened');
      if (opened) opened.at = new Date(start).toISOString();
      incident.closedAt = open ? null : group.last + m + near;
      // Opened first, the rest in time order, at most MAX_TIMELINE entries, then the close.
      const rank = (type: string) => (type === 'opened' ? 0 : 1);
      incident.timeline.sort((a, b) => rank(a.type) - rank(b.type) || a.at.localeCompare(b.at));
      incident.timeline.splice(MAX_TIMELINE);
      if (incident.closedAt !== null) {
        incident.timeline.push({
          at: new Date(incident.closedAt).toISOString(),
          type: 'closed',
          detail: `${this.config.SLA_INCIDENT_CLOSE_GOOD_MINUTES} good minutes`,
        });
      }
      if (!first) {
        made.push(incident);
        continue;
      }
      removed.push(...others.map((o) => o.id));
      if (others.length > 0 || !sameIncident(first, incident)) {
        merges.push({ survivor: incident, before: first, merged: others.map((o) => o.id) });
      }
    }
    // Removed first (an open one may be merged into a closed one that reopens), then amended.
    if (removed.length > 0) {
      await manager.query(`DELETE FROM sla_incidents WHERE tenant_id = $1 AND id = ANY($2)`, [
        tenantId,
        removed,
      ]);
    }
    for (const merge of merges) await this.amend(tenantId, merge, result);
    for (const incident of made) await this.save(tenantId, incident, result);
  }

  /** The tenant's affected minutes in [from, to): {@link affectedByMinute} of what is stored. */
  private async affectedMinutes(
    tenantId: TenantId,
    sla: SlaTerms | null,
    from: number,
    to: number,
  ): Promise<Map<number, Affected[]>> {
    const windows = await this.maintenance.overlapping(tenantId, new Date(from), new Date(to));
    const rows = await minuteRows(this.db.manager, tenantId, new Date(from), new Date(to));
    return this.affectedByMinute(rows, excludedIntervals(windows, this.config.SLA_MINUTE_MS), sla);
  }

  /**
   * The minutes of `rows` in which an endpoint is affected (maintenance windows excluded), by
   * minute start, with the endpoints affected in each and why ({@link affected}).
   */
  private affectedByMinute(
    rows: MinuteRow[],
    excluded: Interval[],
    sla: SlaTerms | null,
  ): Map<number, Affected[]> {
    const byMinute = new Map<number, MinuteRow[]>();
    for (const row of rows) {
      const list = byMinute.get(row.minute);
      if (list) list.push(row);
      else byMinute.set(row.minute, [row]);
    }
    const out = new Map<number, Affected[]>();
    for (const [t, minute] of byMinute) {
      const affected = isExcluded(t, excluded) ? [] : this.affected(minute, sla);
      if (affected.length > 0) out.set(t, affected);
    }
    return out;
  }

  /**
   * Saves an incident that late minutes changed (span, endpoints, causes, status, timeline, bad
   * minutes), audited `sla_incident.amend` with before, after and the ids merged into it.
   */
  private async amend(
    tenantId: TenantId,
    {
      survivor,
      before,
      merged,
    }: { survivor: WorkingIncident; before: IncidentRow; merged: string[] },
    result: EvaluationResult,
  ): Promise<void> {
    const m = this.config.SLA_MINUTE_MS;
    const id = survivor.id!;
    const status = survivor.closedAt === null ? 'open' : 'closed';
    await this.db.manager.query(
      `UPDATE sla_incidents SET status = $3, started_at = $4, last_bad_minute = $5, ended_at = $6,
         closed_at = $7, causes = $8, endpoint_ids = $9, bad_minutes = $10, timeline = $11
       WHERE tenant_id = $1 AND id = $2`,
      [
        tenantId,
        id,
        status,
        new Date(survivor.startedAt),
        new Date(survivor.lastBadMinute),
        status === 'open' ? null : new Date(survivor.lastBadMinute + m),
        survivor.closedAt === null ? null : new Date(survivor.closedAt),
        survivor.causes,
        survivor.endpointIds,
        survivor.badMinutes,
        JSON.stringify(survivor.timeline),
      ],
    );
    result.amended.push(id);
    const view = (i: {
      status: string;
      startedAt: Date;
      lastBadMinute: Date;
      badMinutes: number;
      causes: string[];
      endpointIds: string[];
    }) => ({
      status: i.status,
      startedAt: i.startedAt.toISOString(),
      lastBadMinute: i.lastBadMinute.toISOString(),
      badMinutes: i.badMinutes,
      causes: i.causes,
      endpointIds: i.endpointIds,
    });
    await this.audit.append(this.db.manager, {
      tenantId,
      actor: SYSTEM_ACTOR,
      action: 'sla_incident.amend',
      resource: { type: 'sla_incident', id },
      outcome: 'success',
      reason:
        'minutes whose data arrived after they were evaluated' +
        (merged.length > 0 ? `; merged ${merged.join(', ')} into it` : ''),
      changes: {
        before: view({
          status: before.status,
          startedAt: before.started_at,
          lastBadMinute: before.last_bad_minute,
          badMinutes: before.bad_minutes,
          causes: before.causes,
          endpointIds: before.endpoint_ids,
        }),
        after: {
          ...view({
            status,
            startedAt: new Date(survivor.startedAt),
            lastBadMinute: new Date(survivor.lastBadMinute),
            badMinutes: survivor.badMinutes,
            causes: survivor.causes,
            endpointIds: survivor.endpointIds,
          }),
          ...(merged.length > 0 ? { mergedIncidentIds: merged } : {}),
        },
      },
    });
  }

  /** The endpoints affected in one minute and why. */
  private affected(rows: MinuteRow[], sla: SlaTerms | null): Affected[] {
    const threshold = this.config.SLA_ERROR_RATE_THRESHOLD_PERCENT;
    const out: Affected[] = [];
    for (const row of rows) {
      const causes: IncidentCause[] = [];
      if (row.probeFailures > 0) causes.push('probe_failure');
      if (isBadMinute({ ...row, probeFailures: 0 }, threshold)) causes.push('error_rate');
      if (row.requests > 0 && sla) {
        const total = quantile(row.totalHist, 0.95);
        const ttfb = quantile(row.ttfbHist, 0.95);
        if (
          (sla.latencyP95Ms !== undefined && total !== null && total > sla.latencyP95Ms) ||
          (sla.ttfbP95Ms !== undefined && ttfb !== null && ttfb > sla.ttfbP95Ms)
        ) {
          causes.push('latency');
        }
      }
      if (causes.length > 0) {
        const detail =
          row.probeFailures > 0
            ? `probe: ${row.probeError ?? 'failed'}`
            : row.errors > 0
              ? `${row.errors} of ${row.requests} requests failed`
              : undefined;
        out.push({ endpointId: row.endpointId, causes, ...(detail ? { detail } : {}) });
      }
    }
    return out;
  }

  /**
   * Adds a minute's affected endpoints and causes that are new to the incident, each with a
   * timeline entry (`late`: why a late minute's entries came in out of order).
   */
  private join(incident: WorkingIncident, at: string, affected: Affected[], late?: string): void {
    for (const { endpointId, causes, detail } of affected) {
      if (!incident.endpointIds.includes(endpointId)) {
        incident.endpointIds.push(endpointId);
        const why = detail ?? late;
        this.note(incident, {
          at,
          type: 'endpoint_affected',
          endpointId,
          ...(why ? { detail: why } : {}),
        });
      }
      for (const cause of causes) {
        if (!incident.causes.includes(cause)) {
          incident.causes.push(cause);
          this.note(incident, {
            at,
            type: 'cause_added',
            cause,
            endpointId,
            ...(late ? { detail: late } : {}),
          });
        }
      }
    }
  }

  private note(incident: WorkingIncident, entry: IncidentTimelineEntry): void {
    if (incident.timeline.length < MAX_TIMELINE) incident.timeline.push(entry);
  }

  private async save(
    tenantId: TenantId,
    incident: WorkingIncident,
    result: EvaluationResult,
  ): Promise<void> {
    const m = this.config.SLA_MINUTE_MS;
    const manager = this.db.manager;
    const status = incident.closedAt === null ? 'open' : 'closed';
    const endedAt = incident.closedAt === null ? null : new Date(incident.lastBadMinute + m);
    const closedAt = incident.closedAt === null ? null : new Date(incident.closedAt);
    const fields = [
      status,
      new Date(incident.lastBadMinute),
      endedAt,
      closedAt,
      incident.causes,
      incident.endpointIds,
      incident.badMinutes,
      JSON.stringify(incident.timeline),
    ];
    let id = incident.id;
    if (!id) {
      const [row]: { id: string }[] = await manager.query(
        `INSERT INTO sla_incidents (tenant_id, status, last_bad_minute, ended_at, closed_at, causes,
           endpoint_ids, bad_minutes, timeline, started_at)
         VALUES ($9, $1, $2, $3, $4, $5, $6, $7, $8, $10) RETURNING id`,
        [...fields, tenantId, new Date(incident.startedAt)],
      );
      id = row.id;
      result.opened.push(id);
      this.metrics.incidents.inc({ event: 'opened' });
      await this.audit.append(manager, {
        tenantId,
        actor: SYSTEM_ACTOR,
        action: 'sla_incident.open',
        resource: { type: 'sla_incident', id },
        outcome: 'success',
        reason: `${incident.causes.join(', ')} on ${incident.endpointIds.length} endpoint(s) from ${new Date(incident.startedAt).toISOString()}`,
        changes: {
          after: {
            startedAt: new Date(incident.startedAt).toISOString(),
            causes: incident.causes,
            endpointIds: incident.endpointIds,
          },
        },
      });
    } else {
      await manager.query(
        `UPDATE sla_incidents SET status = $1, last_bad_minute = $2, ended_at = $3, closed_at = $4,
           causes = $5, endpoint_ids = $6, bad_minutes = $7, timeline = $8
         WHERE tenant_id = $9 AND id = $10`,
        [...fields, tenantId, id],
      );
    }
    if (status === 'closed') {
      result.closed.push(id);
      this.metrics.incidents.inc({ event: 'closed' });
      await this.audit.append(manager, {
        tenantId,
        actor: SYSTEM_ACTOR,
        action: 'sla_incident.close',
        resource: { type: 'sla_incident', id },
        outcome: 'success',
        reason: `${incident.badMinutes} affected minute(s) from ${new Date(incident.startedAt).toISOString()} to ${endedAt!.toISOString()}`,
        changes: {
          after: {
            startedAt: new Date(incident.startedAt).toISOString(),
            endedAt: endedAt!.toISOString(),
            causes: incident.causes,
            endpointIds: incident.endpointIds,
            badMinutes: incident.badMinutes,
          },
        },
      });
    }
  }

  private async evaluateBurnRates(
    tenantId: TenantId,
    sla: SlaTerms,
    excluded: Interval[],
    settledTo: number,
    result: EvaluationResult,
  ): Promise<void> {
    const m = this.config.SLA_MINUTE_MS;
    const manager = this.db.manager;
    const longest = Math.max(...BURN_RATE_RULES.map((r) => r.longMinutes));
    const lifetimes = await this.endpoints.lifetimes(
      tenantId,
      new Date(settledTo - longest * m),
      new Date(settledTo),
    );
    const bad = await badMinuteStarts(
      manager,
      tenantId,
      new Date(settledTo - longest * m),
      new Date(settledTo),
      this.config.SLA_ERROR_RATE_THRESHOLD_PERCENT,
    );
    const burnOver = (minutes: number) => {
      const window = { start: new Date(settledTo - minutes * m), end: new Date(settledTo) };
      const counts = sumCounts(
        lifetimes.map((e) =>
          countMinutes(
            measuredInterval(window, e, window.end, m),
            bad.get(e.id) ?? [],
            excluded,
            m,
          ),
        ),
      );
      return burnRate(counts, sla.availabilityTarget);
    };
    for (const rule of BURN_RATE_RULES) {
      const longBurnRate = burnOver(rule.longMinutes);
      const shortBurnRate = burnOver(rule.shortMinutes);
      const firing = longBurnRate >= rule.factor && shortBurnRate >= rule.factor;
      const [open]: { id: string }[] = await manager.query(
        `SELECT id FROM sla_burn_rate_alerts WHERE tenant_id = $1 AND severity = $2 AND ended_at IS NULL`,
        [tenantId, rule.severity],
      );
      if (firing && !open) {
        const rates = {
          longWindowMinutes: rule.longMinutes,
          shortWindowMinutes: rule.shortMinutes,
          factor: rule.factor,
          longBurnRate: finite(longBurnRate),
          shortBurnRate: finite(shortBurnRate),
        };
        const [row]: { id: string }[] = await manager.query(
          `INSERT INTO sla_burn_rate_alerts (tenant_id, severity, started_at, burn_rates)
           VALUES ($1, $2, $3, $4) RETURNING id`,
          [tenantId, rule.severity, new Date(settledTo), rates],
        );
        const payload: BurnRateAlertPayload = {
          alertId: row.id,
          tenantId,
          severity: rule.severity,
          availabilityTarget: sla.availabilityTarget,
          at: new Date(settledTo).toISOString(),
          ...rates,
        };
        await this.audit.append(manager, {
          tenantId,
          actor: SYSTEM_ACTOR,
          action: SLA_BURN_RATE_ALERT_EVENT,
          resource: { type: 'sla_burn_rate_alert', id: row.id },
          outcome: 'success',
          reason: `error budget burning ${payload.longBurnRate}× over ${rule.longMinutes} min and ${payload.shortBurnRate}× over ${rule.shortMinutes} min (threshold ${rule.factor}×)`,
          changes: { after: payload },
        });
        await this.webhooks.enqueue(tenantId, SLA_BURN_RATE_ALERT_EVENT, { ...payload });
        this.metrics.burnRateAlerts.inc({ severity: rule.severity });
        result.alerts.push(payload);
      } else if (!firing && open) {
        await manager.query(`UPDATE sla_burn_rate_alerts SET ended_at = $2 WHERE id = $1`, [
          open.id,
          new Date(settledTo),
        ]);
        await this.audit.append(manager, {
          tenantId,
          actor: SYSTEM_ACTOR,
          action: 'sla.burn_rate_alert_resolved',
          resource: { type: 'sla_burn_rate_alert', id: open.id },
          outcome: 'success',
          reason: `${rule.severity} burn-rate condition no longer holds`,
        });
      }
    }
  }
}

/** Burn rates rounded to 2 decimals; an infinite one (a 100 % target) as 1e9. */
function finite(rate: number): number {
  return Number.isFinite(rate) ? Math.round(rate * 100) / 100 : 1e9;
}
