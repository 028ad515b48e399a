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
      const now = this.clock.now();
      const settledTo = floorTo(now.getTime() - this.config.SLA_SETTLE_DELAY_MS, m);
      await manager.query(
        `INSERT INTO sla_evaluation_state (tenant_id, evaluated_to) VALUES ($1, $2)
         ON CONFLICT DO NOTHING`,
        [tenantId, new Date(floorTo(now.getTime() - FIRST_EVALUATION_LOOKBACK_MS, m))],
      );
      const [state]: { evaluated_to: Date }[] = await manager.query(
        `SELECT evaluated_to FROM sla_evaluation_state WHERE tenant_id = $1 FOR UPDATE`,
        [tenantId],
      );
      const from = Math.max(
        state.evaluated_to.getTime(),
        floorTo(now.getTime() - FIRST_EVALUATION_LOOKBACK_MS, m),
      );
      const result: EvaluationResult = { evaluatedTo: null, opened: [], closed: [], alerts: [] };
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
    const byMinute = new Map<number, MinuteRow[]>();
    for (const row of rows) {
      const list = byMinute.get(row.minute) ?? [];
      list.push(row);
      byMinute.set(row.minute, list);
    }
    const incidents: WorkingIncident[] = [];
    const [open] = await this.db.manager.query(
      `SELECT id, started_at, last_bad_minute, causes, endpoint_ids, bad_minutes, timeline
         FROM sla_incidents WHERE tenant_id = $1 AND status = 'open' FOR UPDATE`,
      [tenantId],
    );
    let current: WorkingIncident | null = open
      ? {
          id: open.id,
          startedAt: open.started_at.getTime(),
          lastBadMinute: open.last_bad_minute.getTime(),
          closedAt: null,
          causes: open.causes,
          endpointIds: open.endpoint_ids,
          badMinutes: open.bad_minutes,
          timeline: open.timeline,
          recovering: false,
          changed: false,
        }
      : null;
    if (current) incidents.push(current);
    let bad = 0;
    for (let t = from; t < to; t += m) {
      const affected = isExcluded(t, excluded) ? [] : this.affected(byMinute.get(t) ?? [], sla);
      bad += affected.filter((a) => a.causes.some((c) => c !== 'latency')).length;
      const at = new Date(t).toISOString();
      if (affected.length > 0) {
        if (!current) {
          current = {
            id: null,
            startedAt: t,
            lastBadMinute: t,
            closedAt: null,
            causes: [],
            endpointIds: [],
            badMinutes: 0,
            timeline: [{ at, type: 'opened' }],
            recovering: false,
            changed: true,
          };
          incidents.push(current);
        }
        current.changed = true;
        current.lastBadMinute = t;
        current.badMinutes += 1;
        current.recovering = false;
        for (const { endpointId, causes, detail } of affected) {
          if (!current.endpointIds.includes(endpointId)) {
            current.endpointIds.push(endpointId);
            this.note(current, { at, type: 'endpoint_affected', endpointId, detail });
          }
          for (const cause of causes) {
            if (!current.causes.includes(cause)) {
              current.causes.push(cause);
              this.note(current, { at, type: 'cause_added', cause, endpointId });
            }
          }
        }
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

  /** The endpoints affected in one minute and why. */
  private affected(
    rows: MinuteRow[],
    sla: SlaTerms | null,
  ): { endpointId: string; causes: IncidentCause[]; detail?: string }[] {
    const threshold = this.config.SLA_ERROR_RATE_THRESHOLD_PERCENT;
    const out: { endpointId: string; causes: IncidentCause[]; detail?: string }[] = [];
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
