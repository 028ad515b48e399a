import { AuditService, SigningKeyService } from '@app/audit';
import { asTenantId, TenantDb, TenantId } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { EndpointDirectory, EndpointLifetime } from '@app/endpoints';
import { ContractService, CreditTier, TenantService } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { stringify } from 'csv-stringify/sync';
import { createHash } from 'node:crypto';
import {
  availabilityOf,
  countMinutes,
  creditMinorOf,
  creditPercentFor,
  excludedIntervals,
  floorTo,
  measuredInterval,
  MinuteCounts,
  monthlyFeeMinor,
  monthOf,
  monthWindow,
  previousMonth,
  roundAvailability,
  sumCounts,
} from '../availability/availability';
import {
  bucketUpperBound,
  LatencyHistogram,
  mergeInto,
  quantile,
  RELATIVE_ERROR,
} from '../histogram/latency-histogram';
import {
  incidentSummary,
  ReportIncident,
  SlaIncidentService,
} from '../incidents/sla-incident.service';
import { MaintenanceWindowService } from '../maintenance/maintenance-window.service';
import { badMinuteStarts } from '../signals/sla-minutes';
import { SlaClock } from '../sla-clock';
import { SlaReportNotFinal } from '../sla-problems';

/** Latency percentiles of a window, ms, within {@link RELATIVE_ERROR} (1 %) of exact. */
export interface LatencySummary {
  /** p95 time to first byte of the tenant's requests through the gateway; null without any. */
  ttfbP95Ms: number | null;
  /** p95 total time of those requests. */
  totalP95Ms: number | null;
  ttfbP50Ms: number | null;
  totalP99Ms: number | null;
  /** p95 of the synthetic probes that passed (health + one-token completion). */
  probeP95Ms: number | null;
}

/** Minutes, traffic and latency of one endpoint in the month. */
export interface EndpointSlaFigures extends MinuteCounts {
  endpointId: string;
  name: string;
  /** Percent, rounded down to 4 decimals; null when nothing was measured. */
  availability: number | null;
  requests: number;
  errors: number;
  probes: number;
  probeFailures: number;
  latency: LatencySummary;
}

/**
 * A tenant's SLA report for one calendar month in its billing time zone (API.md, SLA; the
 * definitions are in the README's "SLA" section).
 */
export interface SlaMonthReport {
  tenantId: string;
  month: string;
  timeZone: string;
  /** The month's first instant (local midnight of the 1st), ISO 8601. */
  from: string;
  /** The next month's first instant (exclusive). */
  to: string;
  /** Minutes are counted up to here (the month's end, or the current minute's start). */
  measuredTo: string;
  /** True once the monthly job froze it (then signed); false for live figures. */
  final: boolean;
  generatedAt: string;
  /** Length of an SLA minute, ms (60000 in production). */
  minuteMs: number;
  /** Error-rate threshold of a bad minute, percent of requests. */
  errorRateThresholdPercent: number;
  contractId: string | null;
  /** Percent; null without a contract in force. */
  availabilityTarget: number | null;
  /** good / (minutes − excluded) × 100 over every endpoint-minute, rounded down to 4 decimals. */
  availability: number | null;
  minutes: number;
  excludedMinutes: number;
  badMinutes: number;
  goodMinutes: number;
  requests: number;
  errors: number;
  latency: LatencySummary & {
    targets: { ttfbP95Ms: number | null; totalP95Ms: number | null };
    /** Whether each p95 met its target (null: no target or no requests). */
    met: { ttfbP95: boolean | null; totalP95: boolean | null };
    /** Relative error bound of every percentile (log buckets). */
    relativeError: number;
  };
  incidents: ReportIncident[];
  excludedWindows: { id: string; startsAt: string; endsAt: string; reason: string }[];
  endpoints: EndpointSlaFigures[];
  creditTiers: CreditTier[];
  /** Percent of the month's committed fee credited. */
  creditPercent: number;
  /** The month's share of the committed spend, minor units of `currency`. */
  monthlyFeeMinor: number;
  /** creditPercent of monthlyFeeMinor, rounded half up, minor units. */
  creditMinor: number;
  currency: string | null;
}

/** One endpoint's report: its figures, the incidents that touched it and the excluded windows. */
export type EndpointSlaReport = Pick<
  SlaMonthReport,
  | 'tenantId'
  | 'month'
  | 'timeZone'
  | 'from'
  | 'to'
  | 'measuredTo'
  | 'final'
  | 'generatedAt'
  | 'availabilityTarget'
  | 'incidents'
  | 'excludedWindows'
> &
  EndpointSlaFigures;

/** The signed facts of a frozen month (`GET .../sla/manifest?month=`). */
export interface SlaReportManifest {
  kind: 'sla_report';
  tenantId: string;
  month: string;
  timeZone: string;
  from: string;
  to: string;
  availability: number | null;
  creditPercent: number;
  creditMinor: number;
  currency: string | null;
  /** SHA-256 (hex) of the JSON report exactly as served (RFC 8785 canonical JSON). */
  jsonSha256: string;
  /** SHA-256 (hex) of the CSV report exactly as served. */
  csvSha256: string;
  generatedAt: string;
  algorithm: 'Ed25519';
  keyId: string;
  /** Ed25519 signature (base64) over the RFC 8785 JSON of every other field. */
  signature: string;
}

const CSV_COLUMNS = [
  'scope',
  'endpoint_id',
  'name',
  'month',
  'minutes',
  'excluded_minutes',
  'bad_minutes',
  'good_minutes',
  'availability_percent',
  'ttfb_p95_ms',
  'total_p95_ms',
  'requests',
  'errors',
  'credit_percent',
  'credit_minor',
  'currency',
];

const emptyLatency = (): LatencySummary => ({
  ttfbP95Ms: null,
  totalP95Ms: null,
  ttfbP50Ms: null,
  totalP99Ms: null,
  probeP95Ms: null,
});

/**
 * SLA reports (issue 11, "SLA reports"): a month's availability, latency, incidents, excluded
 * windows and service credit, live for a month not yet frozen, and frozen by the monthly job into
 * `sla_reports` with a manifest signed by the audit signing key (verify with the keys at
 * `GET /v1/audit/signing-keys`). Reads run in the caller's tenant-scoped transaction.
 */
@Injectable()
export class SlaReportService {
  private readonly logger = new Logger('SlaReports');

  constructor(
    private readonly db: TenantDb,
    private readonly tenants: TenantService,
    private readonly contracts: ContractService,
    private readonly endpoints: EndpointDirectory,
    private readonly maintenance: MaintenanceWindowService,
    private readonly incidentRecords: SlaIncidentService,
    private readonly keys: SigningKeyService,
    private readonly audit: AuditService,
    private readonly clock: SlaClock,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** The tenant's billing time zone and the month containing now there. */
  async currentMonth(tenantId: TenantId): Promise<{ timeZone: string; month: string }> {
    const timeZone = (await this.tenants.get(tenantId)).billingTimeZone;
    return { timeZone, month: monthOf(this.clock.now(), timeZone) };
  }

  /**
   * The month's report: the frozen one when the month was frozen, else live figures up to now.
   *
   * @returns the report and, when frozen, the exact JSON and CSV texts that were signed
   */
  async report(
    tenantId: TenantId,
    month: string,
  ): Promise<{ report: SlaMonthReport; frozen: { json: string; csv: string } | null }> {
    const [row]: { report_json: string; report_csv: string }[] = await this.db.manager.query(
      `SELECT report_json, report_csv FROM sla_reports WHERE tenant_id = $1 AND month = $2`,
      [tenantId, month],
    );
    if (row) {
      return {
        report: JSON.parse(row.report_json) as SlaMonthReport,
        frozen: { json: row.report_json, csv: row.report_csv },
      };
    }
    return { report: await this.compute(tenantId, month, this.clock.now()), frozen: null };
  }

  /** One endpoint's figures for the month (the endpoint must be the tenant's: check first). */
  async endpointReport(
    tenantId: TenantId,
    endpointId: string,
    month: string,
  ): Promise<EndpointSlaReport> {
    const { report } = await this.report(tenantId, month);
    const figures = report.endpoints.find((e) => e.endpointId === endpointId) ?? {
      endpointId,
      name: '',
      minutes: 0,
      excludedMinutes: 0,
      badMinutes: 0,
      goodMinutes: 0,
      availability: null,
      requests: 0,
      errors: 0,
      probes: 0,
      probeFailures: 0,
      latency: emptyLatency(),
    };
    return {
      tenantId: report.tenantId,
      month: report.month,
      timeZone: report.timeZone,
      from: report.from,
      to: report.to,
      measuredTo: report.measuredTo,
      final: report.final,
      generatedAt: report.generatedAt,
      availabilityTarget: report.availabilityTarget,
      ...figures,
      incidents: report.incidents.filter((i) => i.endpointIds.includes(endpointId)),
      excludedWindows: report.excludedWindows,
    };
  }

  /**
   * Computes the month as of `now` (only minutes over by then count). Caller's transaction.
   *
   * @throws RangeError for a malformed month
   */
  async compute(tenantId: TenantId, month: string, now: Date): Promise<SlaMonthReport> {
    const m = this.config.SLA_MINUTE_MS;
    const threshold = this.config.SLA_ERROR_RATE_THRESHOLD_PERCENT;
    const manager = this.db.manager;
    const tenant = await this.tenants.get(tenantId);
    const timeZone = tenant.billingTimeZone;
    const window = monthWindow(month, timeZone);
    const measuredTo = new Date(
      Math.max(window.start.getTime(), Math.min(window.end.getTime(), floorTo(now.getTime(), m))),
    );
    // The terms in force at the end of what is measured (the month's last instant when it is
    // over), or, when the contract ended before that (terminated, expired), the terms it ended
    // with: the month it ended in still has a target and credits.
    const contract = await this.contracts.lastInForceDuring(
      tenantId,
      window.start,
      new Date(Math.max(window.start.getTime() + 1, measuredTo.getTime())),
    );
    const sla = contract?.version.sla ?? null;
    const lifetimes = await this.endpoints.lifetimes(tenantId, window.start, window.end);
    const windows = await this.maintenance.overlapping(tenantId, window.start, window.end);
    const excluded = excludedIntervals(windows, m);
    const bad = await badMinuteStarts(manager, tenantId, window.start, measuredTo, threshold);
    const traffic = await this.traffic(tenantId, window.start, measuredTo);
    const endpoints = lifetimes.map((e) =>
      this.endpointFigures(e, window, now, bad, excluded, traffic),
    );
    const counts = sumCounts(endpoints);
    const availability = availabilityOf(counts);
    const merged = { ttfb: {}, total: {}, probe: {} } as Record<
      'ttfb' | 'total' | 'probe',
      LatencyHistogram
    >;
    for (const e of lifetimes) {
      const t = traffic.get(e.id);
      if (!t) continue;
      mergeInto(merged.ttfb, t.ttfb);
      mergeInto(merged.total, t.total);
      mergeInto(merged.probe, t.probe);
    }
    const latency = latencyOf(merged);
    const creditTiers = sla?.creditTiers ?? [];
    const creditPercent = sla ? creditPercentFor(availability, creditTiers) : 0;
    const fee =
      contract && contract.version.committedSpendMinor
        ? monthlyFeeMinor(
            contract.version.committedSpendMinor,
            // The term as signed: a termination does not change past months' fees.
            { start: contract.contract.termStart, end: contract.contract.termEnd },
            window,
          )
        : 0;
    const incidents = await this.incidentRecords.overlapping(tenantId, window.start, window.end);
    const target = (value: number | undefined) => (value === undefined ? null : value);
    // Met only when the whole bucket of the p95 is within the target: a breach is never shown
    // as met (a p95 within 1 % above the target may be shown as not met).
    const met = (p95: number | null, goal: number | undefined) =>
      p95 === null || goal === undefined ? null : bucketUpperBound(p95) <= goal;
    return {
      tenantId,
      month,
      timeZone,
      from: window.start.toISOString(),
      to: window.end.toISOString(),
      measuredTo: measuredTo.toISOString(),
      final: false,
      generatedAt: this.clock.now().toISOString(),
      minuteMs: m,
      errorRateThresholdPercent: threshold,
      contractId: contract?.contract.id ?? null,
      availabilityTarget: sla?.availabilityTarget ?? null,
      availability: roundAvailability(availability),
      ...counts,
      requests: endpoints.reduce((sum, e) => sum + e.requests, 0),
      errors: endpoints.reduce((sum, e) => sum + e.errors, 0),
      latency: {
        ...latency,
        targets: { ttfbP95Ms: target(sla?.ttfbP95Ms), totalP95Ms: target(sla?.latencyP95Ms) },
        met: {
          ttfbP95: met(latency.ttfbP95Ms, sla?.ttfbP95Ms),
          totalP95: met(latency.totalP95Ms, sla?.latencyP95Ms),
        },
        relativeError: RELATIVE_ERROR,
      },
      incidents: incidents.map(incidentSummary),
      excludedWindows: windows.map((w) => ({
        id: w.id,
        startsAt: w.startsAt.toISOString(),
        endsAt: w.endsAt.toISOString(),
        reason: w.reason,
      })),
      endpoints,
      creditTiers,
      creditPercent,
      monthlyFeeMinor: fee,
      creditMinor: creditMinorOf(fee, creditPercent),
      currency: contract?.contract.currency ?? null,
    };
  }

  /** The report as CSV: a `tenant` row, then one `endpoint` row each (RFC 4180). */
  toCsv(report: SlaMonthReport): string {
    const row = (
      scope: string,
      figures: Pick<
        SlaMonthReport,
        | 'minutes'
        | 'excludedMinutes'
        | 'badMinutes'
        | 'goodMinutes'
        | 'availability'
        | 'requests'
        | 'errors'
      > & { latency: LatencySummary },
      endpoint?: { endpointId: string; name: string },
    ) => [
      scope,
      endpoint?.endpointId ?? '',
      endpoint?.name ?? '',
      report.month,
      figures.minutes,
      figures.excludedMinutes,
      figures.badMinutes,
      figures.goodMinutes,
      figures.availability ?? '',
      figures.latency.ttfbP95Ms ?? '',
      figures.latency.totalP95Ms ?? '',
      figures.requests,
      figures.errors,
      scope === 'tenant' ? report.creditPercent : '',
      scope === 'tenant' ? report.creditMinor : '',
      scope === 'tenant' ? (report.currency ?? '') : '',
    ];
    return stringify(
      [row('tenant', report), ...report.endpoints.map((e) => row('endpoint', e, e))],
      { header: true, columns: CSV_COLUMNS, record_delimiter: 'windows' },
    );
  }

  /** The signed manifest of a frozen month. @throws SlaReportNotFinal (409) */
  async manifest(tenantId: TenantId, month: string): Promise<SlaReportManifest> {
    const [row]: { manifest: SlaReportManifest }[] = await this.db.manager.query(
      `SELECT manifest FROM sla_reports WHERE tenant_id = $1 AND month = $2`,
      [tenantId, month],
    );
    if (!row) throw new SlaReportNotFinal(`${month} has not been frozen yet.`);
    return row.manifest;
  }

  /**
   * Freezes a month that is over: computes it as of its end, stores the JSON (RFC 8785) and CSV
   * texts and signs the manifest, with an `sla_report.freeze` audit event, in one transaction of
   * the tenant. Idempotent: an already frozen month is left as it is.
   *
   * @returns the manifest, or null when the month was frozen already
   * @throws RangeError when the month has not ended at `now`
   */
  freeze(tenantId: TenantId, month: string): Promise<SlaReportManifest | null> {
    return this.db.run({ kind: 'tenant', tenantId }, async () => {
      const manager = this.db.manager;
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('sla_report:' || $1 || $2))`, [
        tenantId,
        month,
      ]);
      const [existing] = await manager.query(
        `SELECT 1 FROM sla_reports WHERE tenant_id = $1 AND month = $2`,
        [tenantId, month],
      );
      if (existing) return null;
      const timeZone = (await this.tenants.get(tenantId)).billingTimeZone;
      const window = monthWindow(month, timeZone);
      if (this.clock.now().getTime() < window.end.getTime()) {
        throw new RangeError(`${month} has not ended in ${timeZone}`);
      }
      const report = { ...(await this.compute(tenantId, month, window.end)), final: true };
      const json = canonicalize(report) as string;
      const csv = this.toCsv(report);
      const { keyId } = await this.keys.current();
      const unsigned: Omit<SlaReportManifest, 'signature'> = {
        kind: 'sla_report',
        tenantId,
        month,
        timeZone,
        from: report.from,
        to: report.to,
        availability: report.availability,
        creditPercent: report.creditPercent,
        creditMinor: report.creditMinor,
        currency: report.currency,
        jsonSha256: sha256(json),
        csvSha256: sha256(csv),
        generatedAt: report.generatedAt,
        algorithm: 'Ed25519',
        keyId,
      };
      const { signature } = await this.keys.sign(
        Buffer.from(canonicalize(unsigned) as string, 'utf8'),
      );
      const manifest: SlaReportManifest = { ...unsigned, signature };
      await manager.query(
        `INSERT INTO sla_reports (tenant_id, month, report_json, report_csv, manifest)
         VALUES ($1, $2, $3, $4, $5)`,
        [tenantId, month, json, csv, manifest],
      );
      await this.audit.append(manager, {
        tenantId,
        actor: { type: 'system', id: 'sla-reports' },
        action: 'sla_report.freeze',
        resource: { type: 'sla_report', id: month },
        outcome: 'success',
        reason: `availability ${report.availability ?? 'n/a'} %, credit ${report.creditPercent} % = ${report.creditMinor} ${report.currency ?? ''} minor units; signed by key ${keyId}`,
        changes: {
          after: { month, jsonSha256: manifest.jsonSha256, csvSha256: manifest.csvSha256 },
        },
      });
      return manifest;
    });
  }

  /**
   * The monthly job: freezes each tenant's previous month (in its time zone) once it has been
   * over for `delayMs` (so its last minutes are rolled up), for tenants that had endpoints then.
   *
   * @returns how many months were frozen
   */
  async freezeDue(delayMs: number): Promise<number> {
    const now = this.clock.now();
    const tenants = await this.endpoints.tenantsWithEndpointsSince(
      new Date(now.getTime() - 62 * 24 * 3_600_000),
    );
    let frozen = 0;
    for (const id of tenants) {
      const tenantId = asTenantId(id);
      try {
        const { months, timeZone } = await this.db.run({ kind: 'tenant', tenantId }, async () => {
          const current = await this.currentMonth(tenantId);
          const previous = previousMonth(current.month);
          // The month before too, when the tenant had endpoints then: a worker that was down
          // when that month ended catches up.
          const older = previousMonth(previous);
          const olderWindow = monthWindow(older, current.timeZone);
          const hadEndpoints =
            (await this.endpoints.lifetimes(tenantId, olderWindow.start, olderWindow.end)).length >
            0;
          return {
            months: hadEndpoints ? [older, previous] : [previous],
            timeZone: current.timeZone,
          };
        });
        for (const month of months) {
          if (now.getTime() < monthWindow(month, timeZone).end.getTime() + delayMs) continue;
          if (await this.freeze(tenantId, month)) frozen += 1;
        }
      } catch (error) {
        this.logger.warn({ tenantId, err: error }, 'freezing an SLA month failed');
      }
    }
    return frozen;
  }

  private endpointFigures(
    endpoint: EndpointLifetime,
    window: { start: Date; end: Date },
    now: Date,
    bad: Map<string, number[]>,
    excluded: ReturnType<typeof excludedIntervals>,
    traffic: Map<string, Traffic>,
  ): EndpointSlaFigures {
    const m = this.config.SLA_MINUTE_MS;
    const counts = countMinutes(
      measuredInterval(window, endpoint, now, m),
      bad.get(endpoint.id) ?? [],
      excluded,
      m,
    );
    const t = traffic.get(endpoint.id);
    return {
      endpointId: endpoint.id,
      name: endpoint.name,
      ...counts,
      availability: roundAvailability(availabilityOf(counts)),
      requests: t?.requests ?? 0,
      errors: t?.errors ?? 0,
      probes: t?.probes ?? 0,
      probeFailures: t?.probeFailures ?? 0,
      latency: t ? latencyOf(t) : emptyLatency(),
    };
  }

  /** Per endpoint: traffic totals and merged histograms over [from, to). */
  private async traffic(tenantId: TenantId, from: Date, to: Date): Promise<Map<string, Traffic>> {
    const manager = this.db.manager;
    const totals: {
      endpoint_id: string;
      requests: string;
      errors: string;
      probes: string;
      probe_failures: string;
    }[] = await manager.query(
      `SELECT endpoint_id, sum(requests) AS requests, sum(errors) AS errors, sum(probes) AS probes,
              sum(probe_failures) AS probe_failures
         FROM sla_minutes WHERE tenant_id = $1 AND minute >= $2 AND minute < $3 GROUP BY 1`,
      [tenantId, from, to],
    );
    const buckets: {
      endpoint_id: string;
      kind: 'ttfb' | 'total' | 'probe';
      b: string;
      n: string;
    }[] = await manager.query(
      `SELECT endpoint_id, kind, b, sum(n::bigint) AS n FROM (
           SELECT endpoint_id, 'ttfb' AS kind, e.key AS b, e.value AS n
             FROM sla_minutes, jsonb_each_text(ttfb_hist) e
            WHERE tenant_id = $1 AND minute >= $2 AND minute < $3
           UNION ALL
           SELECT endpoint_id, 'total', e.key, e.value
             FROM sla_minutes, jsonb_each_text(total_hist) e
            WHERE tenant_id = $1 AND minute >= $2 AND minute < $3
           UNION ALL
           SELECT endpoint_id, 'probe', e.key, e.value
             FROM sla_minutes, jsonb_each_text(probe_hist) e
            WHERE tenant_id = $1 AND minute >= $2 AND minute < $3
         ) x GROUP BY 1, 2, 3`,
      [tenantId, from, to],
    );
    const out = new Map<string, Traffic>();
    for (const row of totals) {
      out.set(row.endpoint_id, {
        requests: Number(row.requests),
        errors: Number(row.errors),
        probes: Number(row.probes),
        probeFailures: Number(row.probe_failures),
        ttfb: {},
        total: {},
        probe: {},
      });
    }
    for (const row of buckets) {
      const t = out.get(row.endpoint_id);
      if (t) t[row.kind][row.b] = Number(row.n);
    }
    return out;
  }
}

interface Traffic {
  requests: number;
  errors: number;
  probes: number;
  probeFailures: number;
  ttfb: LatencyHistogram;
  total: LatencyHistogram;
  probe: LatencyHistogram;
}

function latencyOf(h: {
  ttfb: LatencyHistogram;
  total: LatencyHistogram;
  probe: LatencyHistogram;
}): LatencySummary {
  return {
    ttfbP95Ms: quantile(h.ttfb, 0.95),
    totalP95Ms: quantile(h.total, 0.95),
    ttfbP50Ms: quantile(h.ttfb, 0.5),
    totalP99Ms: quantile(h.total, 0.99),
    probeP95Ms: quantile(h.probe, 0.95),
  };
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
