import { isUuid, TenantId } from '@app/authz';
import { QUOTA_METRICS, QuotaMetric } from '@app/tenancy';
import { randomUUID } from 'node:crypto';

/**
 * What a counter counts over: a contract period kind, or `level` for metrics that cap how many
 * exist at once (dedicated endpoints, concurrent fine-tuning jobs), counted over all time.
 */
export type CounterKind = 'term' | 'month' | 'day' | 'level';

/** Redis key names of one tenant (see quota-scripts.ts for what each holds). */
export const quotaKeys = {
  plan: (tenantId: string) => `{${tenantId}}:plan`,
  expiries: (tenantId: string) => `{${tenantId}}:exp`,
  /** `periodStartMs` is 0 for `level` counters. */
  counter: (tenantId: string, metric: QuotaMetric, kind: CounterKind, periodStartMs: number) =>
    `{${tenantId}}:c:${metric}:${kind}:${periodStartMs}`,
};

/** What a reservation id carries, so that it can be settled, and counted when Redis lost it. */
export interface ReservationRef {
  tenantId: TenantId;
  metric: QuotaMetric;
  /** When the usage occurred (the reservation instant), ms since the epoch. */
  occurredAtMs: number;
  /** The ledger id of the usage event its commit records (a UUID). */
  eventId: string;
  /** Units held. */
  quantity: number;
  /** The counters holding them: `<kind>:<periodStartMs>` each. */
  counters: string[];
}

const ID =
  /^qr_([0-9a-f]{32})\.([a-z_]+)\.(\d{1,15})\.([0-9a-f]{32})\.(\d{1,16})(?:\.((?:(?:term|month|day|level):\d{1,15},?)+))?$/;

/**
 * A reservation id: `qr_<tenant>.<metric>.<occurredAtMs>.<eventId>.<quantity>.<counters>`
 * (hex ids, decimal numbers, counters as `<kind>:<periodStartMs>` joined by commas). It is also
 * the reservation's member in the tenant's expiry set, so Redis keeps nothing else per
 * reservation (see quota-scripts.ts). Opaque to callers.
 */
export function newReservationId(
  tenantId: TenantId,
  metric: QuotaMetric,
  occurredAtMs: number,
  quantity: number,
  counters: readonly { kind: CounterKind; periodStartMs: number }[],
): { id: string; ref: ReservationRef } {
  const eventId = randomUUID();
  const lines = counters.map((c) => `${c.kind}:${c.periodStartMs}`);
  const id =
    `qr_${hex(tenantId)}.${metric}.${occurredAtMs}.${hex(eventId)}.${quantity}` +
    (lines.length > 0 ? `.${lines.join(',')}` : '');
  return { id, ref: { tenantId, metric, occurredAtMs, eventId, quantity, counters: lines } };
}

/** Reads a reservation id; undefined when it is not one of ours. */
export function parseReservationId(id: unknown): ReservationRef | undefined {
  if (typeof id !== 'string' || id.length > 512) return undefined;
  const match = ID.exec(id);
  if (!match) return undefined;
  const metric = match[2] as QuotaMetric;
  const tenantId = uuidOf(match[1]);
  const eventId = uuidOf(match[4]);
  const quantity = Number(match[5]);
  if (!QUOTA_METRICS.includes(metric) || !isUuid(tenantId) || !isUuid(eventId)) return undefined;
  if (!Number.isSafeInteger(quantity) || quantity < 1) return undefined;
  return {
    tenantId: tenantId as TenantId,
    metric,
    occurredAtMs: Number(match[3]),
    eventId,
    quantity,
    counters: match[6] ? match[6].split(',').filter(Boolean) : [],
  };
}

/** A UUID without its dashes. */
function hex(uuid: string): string {
  return (
    uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(14, 18) + uuid.slice(19, 23) + uuid.slice(24)
  );
}

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
