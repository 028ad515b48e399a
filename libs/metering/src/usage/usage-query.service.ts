import { TenantDb, TenantId } from '@app/authz';
import { ValidationFailed } from '@app/core';
import { QuotaMetric, TenantService } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { DateTime, IANAZone } from 'luxon';

/** How usage is broken down (API.md `GET /v1/tenants/{tenantId}/usage`). */
export const USAGE_GROUPS = ['day', 'endpoint', 'apiKey'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

/** The longest window one query may span, in days (a year and a bit, for annual contracts). */
export const MAX_USAGE_QUERY_DAYS = 400;
const HOUR_MS = 3_600_000;

export interface UsageQuery {
  from: Date;
  /** Exclusive. */
  to: Date;
  metric?: QuotaMetric;
  groupBy?: UsageGroup;
  /** IANA zone of `day` groups; default the tenant's billing time zone. */
  timeZone?: string;
}

export interface UsageRow {
  metric: QuotaMetric;
  /** `YYYY-MM-DD` in the query's time zone (groupBy=day). */
  day?: string;
  /** groupBy=endpoint; null for usage not tied to an endpoint. */
  endpointId?: string | null;
  /** groupBy=apiKey; null for usage not tied to an API key. */
  apiKeyId?: string | null;
  /** Sum of the events' quantities, in the metric's unit. */
  quantity: bigint;
  /** How many usage events were summed. */
  events: bigint;
}

/**
 * Usage sums over any window, per metric and optionally per day, endpoint or API key. Exact for
 * any boundaries and any time zone: whole UTC hours come from the hourly rollup, except hours
 * that a local midnight cuts in two (zones offset by 30 or 45 minutes), which are read from the
 * ledger together with the window's partial first and last hours.
 */
@Injectable()
export class UsageQueryService {
  constructor(
    private readonly db: TenantDb,
    private readonly tenants: TenantService,
  ) {}

  /**
   * @throws ValidationFailed (400) when `to` is not after `from`, the window exceeds
   * {@link MAX_USAGE_QUERY_DAYS} days, or the time zone is unknown
   */
  async query(
    tenantId: TenantId,
    query: UsageQuery,
  ): Promise<{ timeZone: string; rows: UsageRow[] }> {
    const errors: { path: string; message: string }[] = [];
    const { from, to } = query;
    if (to.getTime() <= from.getTime()) errors.push({ path: 'to', message: 'must be after from' });
    if (to.getTime() - from.getTime() > MAX_USAGE_QUERY_DAYS * 24 * HOUR_MS) {
      errors.push({
        path: 'to',
        message: `the window may span at most ${MAX_USAGE_QUERY_DAYS} days`,
      });
    }
    const timeZone = query.timeZone ?? (await this.tenants.get(tenantId)).billingTimeZone;
    if (!IANAZone.isValidZone(timeZone)) {
      errors.push({ path: 'timeZone', message: 'must be an IANA time zone such as Europe/Berlin' });
    }
    if (errors.length > 0) {
      throw new ValidationFailed(
        `${errors.length} field${errors.length > 1 ? 's are' : ' is'} invalid.`,
        {
          errors,
        },
      );
    }
    const { fullFrom, fullTo, rawRanges, splitHours } = this.segments(
      from,
      to,
      query.groupBy === 'day' ? timeZone : undefined,
    );
    const group =
      query.groupBy === 'day'
        ? `to_char(at AT TIME ZONE $8, 'YYYY-MM-DD')`
        : query.groupBy === 'endpoint'
          ? 'endpoint_id::text'
          : query.groupBy === 'apiKey'
            ? 'api_key_id::text'
            : 'NULL::text';
    const rows: { metric: QuotaMetric; grp: string | null; quantity: string; events: string }[] =
      await this.db.manager.query(
        `WITH raw_ranges AS (
           SELECT * FROM unnest($5::timestamptz[], $6::timestamptz[]) AS r(lo, hi)
         ), src AS (
           SELECT h.metric, h.hour AS at, h.endpoint_id, h.api_key_id, h.quantity, h.events
             FROM usage_hourly h
            WHERE h.tenant_id = $1 AND ($2::text IS NULL OR h.metric = $2)
              AND h.hour >= $3 AND h.hour < $4 AND NOT (h.hour = ANY ($7::timestamptz[]))
           UNION ALL
           SELECT e.metric, e.occurred_at, e.endpoint_id, e.api_key_id, e.quantity, 1
             FROM raw_ranges r
             JOIN usage_events e
               ON e.tenant_id = $1 AND ($2::text IS NULL OR e.metric = $2)
              AND e.occurred_at >= r.lo AND e.occurred_at < r.hi
         )
         SELECT metric, ${group} AS grp, sum(quantity)::text AS quantity,
                sum(events)::text AS events
           FROM src GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST`,
        [
          tenantId,
          query.metric ?? null,
          fullFrom,
          fullTo,
          rawRanges.map(([lo]) => lo),
          rawRanges.map(([, hi]) => hi),
          splitHours,
          // $8 exists only where the day grouping reads it.
          ...(query.groupBy === 'day' ? [timeZone] : []),
        ],
      );
    return {
      timeZone,
      rows: rows.map((row) => ({
        metric: row.metric,
        ...(query.groupBy === 'day' ? { day: row.grp ?? undefined } : {}),
        ...(query.groupBy === 'endpoint' ? { endpointId: row.grp } : {}),
        ...(query.groupBy === 'apiKey' ? { apiKeyId: row.grp } : {}),
        quantity: BigInt(row.quantity),
        events: BigInt(row.events),
      })),
    };
  }

  /**
   * Splits [from, to) into whole UTC hours [fullFrom, fullTo) read from the rollup and ranges
   * read from the ledger: the partial edges and, when days are grouped in `zone`, each hour a
   * local midnight falls inside.
   */
  private segments(from: Date, to: Date, zone: string | undefined) {
    const f = from.getTime();
    const t = to.getTime();
    const fullFrom = Math.ceil(f / HOUR_MS) * HOUR_MS;
    const fullTo = Math.floor(t / HOUR_MS) * HOUR_MS;
    if (fullFrom >= fullTo) {
      return { fullFrom: from, fullTo: from, rawRanges: [[from, to]], splitHours: [] as Date[] };
    }
    const rawRanges: [Date, Date][] = [];
    if (f < fullFrom) rawRanges.push([from, new Date(fullFrom)]);
    if (fullTo < t) rawRanges.push([new Date(fullTo), to]);
    const splitHours: Date[] = [];
    if (zone) {
      let midnight = DateTime.fromMillis(fullFrom, { zone }).startOf('day');
      while (midnight.toMillis() < fullTo) {
        const m = midnight.toMillis();
        if (m > fullFrom && m % HOUR_MS !== 0) {
          const hour = Math.floor(m / HOUR_MS) * HOUR_MS;
          splitHours.push(new Date(hour));
          rawRanges.push([new Date(hour), new Date(hour + HOUR_MS)]);
        }
        midnight = midnight.plus({ days: 1 }).startOf('day');
      }
    }
    return { fullFrom: new Date(fullFrom), fullTo: new Date(fullTo), rawRanges, splitHours };
  }
}
