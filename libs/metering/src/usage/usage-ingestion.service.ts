import { isUuid, TenantDb, TenantId } from '@app/authz';
import { parseInstant, unsafeInput } from '@app/core';
import { LEVEL_METRICS, QUOTA_METRICS, QuotaMetric } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { QuotaStateUnavailable } from '../metering-problems';
import { QuotaCountersService } from '../quota/quota-counters.service';

/** The most events one ingestion call takes (API.md `POST /v1/usage/events`). */
export const MAX_USAGE_BATCH = 1000;
/** How far in the future an event's `occurredAt` may be (clock skew between data planes), ms. */
const FUTURE_SKEW_MS = 5 * 60_000;
const MAX_ATTRIBUTES_BYTES = 4096;
/** PostgreSQL's bigint maximum, 2^63 − 1. */
const BIGINT_MAX = '9223372036854775807';

/** A usage event as sent (API.md); validated by {@link UsageIngestionService.record}. */
export interface UsageEventInput {
  id: string;
  tenantId: string;
  metric: QuotaMetric;
  /** Whole units of the metric; level metrics (endpoints, concurrent jobs) take +/- deltas. */
  quantity: number;
  occurredAt: Date;
  endpointId?: string | null;
  apiKeyId?: string | null;
  fineTuningJobId?: string | null;
  attributes?: Record<string, unknown>;
}

/** An event that passed {@link UsageIngestionService}'s checks, its attributes as JSON text. */
export type CheckedEvent = Omit<UsageEventInput, 'attributes'> & { attributesJson: string };

export interface RejectedEvent {
  index: number;
  code: string;
  message: string;
}

export interface IngestionResult {
  /** Events recorded now. */
  accepted: number;
  /** Events whose id the tenant's ledger already held (counted once, not again). */
  duplicates: number;
  rejected: RejectedEvent[];
}

interface InsertedRow {
  id: string;
  tenant_id: string;
  metric: QuotaMetric;
  quantity: string;
  occurred_at: Date;
}

/** The fields a usage event may have (API.md `POST /v1/usage/events`). */
const EVENT_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'tenantId',
  'metric',
  'quantity',
  'occurredAt',
  'endpointId',
  'apiKeyId',
  'fineTuningJobId',
  'attributes',
]);

const uuidOrAbsent = (value: unknown) => value === undefined || value === null || isUuid(value);

export interface RecordOptions {
  /** Now, for the future-skew check. */
  now?: Date;
  /**
   * The Redis counters already hold this usage (a reservation's commit moved it there): only
   * the ledger and rollup are written. Per event (indexed like `events`) when a batch mixes
   * both (committed reservations, and late ones whose holds had expired).
   */
  countedInRedis?: boolean | readonly boolean[];
}

/**
 * Records usage events in the ledger (`usage_events`), idempotently: an event id counts once per
 * tenant (`usage_event_ids`), whatever its timestamp, across retries and replicas. Bad events are
 * rejected with their index and reason while the good ones land. In the same statement the
 * hourly rollup (`usage_hourly`) takes the new events, and before the transaction commits the
 * loaded Redis quota counters are raised ({@link QuotaCountersService.addUsage}). Runs in the
 * caller's scoped transaction (platform-wide for `POST /v1/usage/events`, which spans tenants).
 *
 * @throws when Redis cannot be reached and counters would have to be raised: the caller's
 * transaction rolls back and nothing is recorded (retrying is safe)
 */
@Injectable()
export class UsageIngestionService {
  constructor(
    private readonly db: TenantDb,
    private readonly counters: QuotaCountersService,
  ) {}

  async record(events: readonly unknown[], options: RecordOptions = {}): Promise<IngestionResult> {
    const now = options.now ?? new Date();
    const rejected: RejectedEvent[] = [];
    const valid: { index: number; event: CheckedEvent }[] = [];
    events.forEach((raw, index) => {
      const checked = this.check(raw, now);
      if ('problem' in checked) rejected.push({ index, ...checked.problem });
      else valid.push({ index, event: checked.event });
    });
    return this.land(valid, rejected, options);
  }

  /**
   * {@link record} of events that {@link check} passed (with `now` as given there), for a caller
   * that checks its events before it changes anything else and should not pay for the checks
   * twice. The tenant checks (unknown, offboarded) still apply; indexes in the result are
   * positions in `events`.
   */
  recordChecked(
    events: readonly CheckedEvent[],
    options: RecordOptions = {},
  ): Promise<IngestionResult> {
    return this.land(
      events.map((event, index) => ({ index, event })),
      [],
      options,
    );
  }

  /** The ledger write of {@link record}: the tenants' status, then one statement. */
  private async land(
    valid: { index: number; event: CheckedEvent }[],
    rejected: RejectedEvent[],
    { countedInRedis = false }: RecordOptions,
  ): Promise<IngestionResult> {
    const tenantIds = [...new Set(valid.map((v) => v.event.tenantId))];
    const tenants: { id: string; status: string }[] = tenantIds.length
      ? await this.db.manager.query(
          `SELECT id, status FROM tenants WHERE kind = 'customer' AND id = ANY($1::uuid[])`,
          [tenantIds],
        )
      : [];
    const statusOf = new Map(tenants.map((t) => [t.id, t.status]));
    const landing = valid.filter(({ index, event }) => {
      const status = statusOf.get(event.tenantId);
      if (!status) {
        rejected.push({ index, code: 'unknown_tenant', message: 'no such tenant' });
        return false;
      }
      if (status === 'offboarded') {
        rejected.push({ index, code: 'tenant_offboarded', message: 'the tenant is offboarded' });
        return false;
      }
      return true;
    });
    rejected.sort((a, b) => a.index - b.index);
    if (landing.length === 0) return { accepted: 0, duplicates: 0, rejected };
    const counted = (index: number) =>
      typeof countedInRedis === 'boolean' ? countedInRedis : countedInRedis[index] === true;
    const uncounted = new Set(
      landing
        .filter(({ index }) => !counted(index))
        .map(({ event }) => `${event.tenantId}|${event.id}`),
    );
    if (uncounted.size > 0) {
      await this.counters.lockForIngestion(landing.map(({ event }) => event.tenantId as TenantId));
    }
    const column = <T>(pick: (e: CheckedEvent) => T) => landing.map(({ event }) => pick(event));
    const inserted: InsertedRow[] = await this.db.manager.query(
      `WITH input AS (
         SELECT DISTINCT ON (tenant_id, id) *
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::timestamptz[],
                       $6::uuid[], $7::uuid[], $8::text[], $9::jsonb[])
             AS u(id, tenant_id, metric, quantity, occurred_at, endpoint_id, api_key_id,
                  fine_tuning_job_id, attributes)
       ), fresh AS (
         INSERT INTO usage_event_ids (tenant_id, id, occurred_at)
         SELECT tenant_id, id, occurred_at FROM input
         ON CONFLICT (tenant_id, id) DO NOTHING
         RETURNING tenant_id, id
       ), landed AS (
         SELECT i.* FROM input i JOIN fresh f USING (tenant_id, id)
       ), rolled AS (
         -- Sorted, so concurrent batches lock rollup rows in one order (no deadlock).
         INSERT INTO usage_hourly AS h (tenant_id, metric, hour, endpoint_id, api_key_id,
           quantity, events)
         -- Sums saturate at the bigint maximum instead of failing the batch (usage that large
         -- is absurd, and an error here would refuse every tenant's events in the batch).
         SELECT tenant_id, metric, date_trunc('hour', occurred_at, 'UTC'), endpoint_id,
                api_key_id, least(sum(quantity), ${BIGINT_MAX})::bigint, count(*)
           FROM landed GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
         ON CONFLICT (tenant_id, metric, hour, endpoint_id, api_key_id) DO UPDATE
           SET quantity = least(h.quantity::numeric + EXCLUDED.quantity, ${BIGINT_MAX})::bigint,
               events = h.events + EXCLUDED.events, updated_at = now()
       )
       INSERT INTO usage_events (tenant_id, id, metric, quantity, occurred_at, endpoint_id,
         api_key_id, fine_tuning_job_id, attributes)
       SELECT tenant_id, id, metric, quantity, occurred_at, endpoint_id, api_key_id,
              fine_tuning_job_id, attributes
         FROM landed
       RETURNING id, tenant_id, metric, quantity::text AS quantity, occurred_at`,
      [
        column((e) => e.id),
        column((e) => e.tenantId),
        column((e) => e.metric),
        column((e) => String(e.quantity)),
        // ISO text: node-postgres' own Date formatting costs more.
        column((e) => e.occurredAt.toISOString()),
        column((e) => e.endpointId ?? null),
        column((e) => e.apiKeyId ?? null),
        column((e) => e.fineTuningJobId ?? null),
        column((e) => e.attributesJson),
      ],
    );
    const toCount = inserted.filter((row) => uncounted.has(`${row.tenant_id}|${row.id}`));
    if (toCount.length > 0) {
      await this.counters
        .addUsage(
          toCount.map((row) => ({
            tenantId: row.tenant_id as TenantId,
            metric: row.metric,
            quantity: Number(row.quantity),
            occurredAt: row.occurred_at,
          })),
        )
        .catch((error: Error) => {
          throw new QuotaStateUnavailable(
            `Quota counters (Redis) cannot be updated: ${error.name}; nothing was recorded. Retry: usage events count once by id.`,
          );
        });
    }
    return { accepted: inserted.length, duplicates: landing.length - inserted.length, rejected };
  }

  /**
   * One event as sent: parsed once (ids lower-cased, `occurredAt` a Date, attributes as JSON
   * text), or what {@link record} would reject it for (`invalid_event`; the tenant is not looked
   * up). `now` is the reference for the future-skew check.
   */
  check(
    raw: unknown,
    now: Date,
  ): { event: CheckedEvent } | { problem: { code: string; message: string } } {
    const bad = (message: string) => ({ problem: { code: 'invalid_event', message } });
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return bad('must be an object');
    // Text PostgreSQL cannot store (NUL, lone surrogates) or nesting too deep to walk.
    const unsafe = unsafeInput(raw);
    if (unsafe) return bad(`${unsafe.path} ${unsafe.message}`);
    const e = raw as Record<string, unknown>;
    const unknown = Object.keys(e).find((key) => !EVENT_FIELDS.has(key));
    if (unknown) return bad(`${unknown} is not a usage event field`);
    if (!isUuid(e.id)) return bad('id must be a UUID');
    if (!isUuid(e.tenantId)) return bad('tenantId must be a UUID');
    if (!QUOTA_METRICS.includes(e.metric as QuotaMetric)) {
      return bad(`metric must be one of ${QUOTA_METRICS.join(', ')}`);
    }
    if (typeof e.quantity !== 'number' || !Number.isSafeInteger(e.quantity)) {
      return bad('quantity must be a whole number within ±(2^53 − 1)');
    }
    if (e.quantity < 0 && !LEVEL_METRICS.has(e.metric as QuotaMetric)) {
      return bad('quantity must not be negative (only level metrics take negative deltas)');
    }
    const occurredAt = parseInstant(e.occurredAt);
    if (!occurredAt) return bad('occurredAt must be an RFC 3339 date-time with an offset');
    if (occurredAt.getTime() > now.getTime() + FUTURE_SKEW_MS) {
      return bad('occurredAt is more than 5 minutes in the future');
    }
    if (!uuidOrAbsent(e.endpointId)) return bad('endpointId must be a UUID');
    if (!uuidOrAbsent(e.apiKeyId)) return bad('apiKeyId must be a UUID');
    if (
      e.fineTuningJobId !== undefined &&
      e.fineTuningJobId !== null &&
      (typeof e.fineTuningJobId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(e.fineTuningJobId))
    ) {
      return bad('fineTuningJobId must be 1-64 letters, digits, _ or -');
    }
    if (
      e.attributes !== undefined &&
      (!e.attributes || typeof e.attributes !== 'object' || Array.isArray(e.attributes))
    ) {
      return bad('attributes must be an object');
    }
    const attributesJson = JSON.stringify(e.attributes ?? {});
    if (Buffer.byteLength(attributesJson) > MAX_ATTRIBUTES_BYTES) {
      return bad(`attributes must be at most ${MAX_ATTRIBUTES_BYTES} bytes of JSON`);
    }
    return {
      event: {
        id: (e.id as string).toLowerCase(),
        tenantId: (e.tenantId as string).toLowerCase(),
        metric: e.metric as QuotaMetric,
        quantity: e.quantity,
        occurredAt,
        endpointId: (e.endpointId as string | undefined) ?? null,
        apiKeyId: (e.apiKeyId as string | undefined) ?? null,
        fineTuningJobId: (e.fineTuningJobId as string | undefined) ?? null,
        attributesJson,
      },
    };
  }
}
