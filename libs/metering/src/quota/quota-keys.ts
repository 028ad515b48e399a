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
  reservation: (tenantId: string, eventId: string) => `{${tenantId}}:r:${eventId}`,
  /** `periodStartMs` is 0 for `level` counters. */
  counter: (tenantId: string, metric: QuotaMetric, kind: CounterKind, periodStartMs: number) =>
    `{${tenantId}}:c:${metric}:${kind}:${periodStartMs}`,
};

/** What a reservation id carries, so that a commit still counts when Redis has lost it. */
export interface ReservationRef {
  tenantId: TenantId;
  metric: QuotaMetric;
  /** When the usage occurred (the reservation instant), ms since the epoch. */
  occurredAtMs: number;
  /** The ledger id of the usage event its commit records (a UUID). */
  eventId: string;
}

const PREFIX = 'qr_';
const BYTES = 16 + 1 + 6 + 16;

/**
 * `qr_` + 52 base64url characters: tenant (16 bytes), metric index (1), occurrence ms (6,
 * big-endian) and the event id (16). Opaque to callers.
 */
export function newReservationId(
  tenantId: TenantId,
  metric: QuotaMetric,
  occurredAtMs: number,
): { id: string; ref: ReservationRef } {
  const eventId = randomUUID();
  const buffer = Buffer.alloc(BYTES);
  Buffer.from(tenantId.replace(/-/g, ''), 'hex').copy(buffer, 0);
  buffer.writeUInt8(QUOTA_METRICS.indexOf(metric), 16);
  buffer.writeUIntBE(occurredAtMs, 17, 6);
  Buffer.from(eventId.replace(/-/g, ''), 'hex').copy(buffer, 23);
  return {
    id: PREFIX + buffer.toString('base64url'),
    ref: { tenantId, metric, occurredAtMs, eventId },
  };
}

/** Reads a reservation id; undefined when it is not one of ours. */
export function parseReservationId(id: unknown): ReservationRef | undefined {
  if (typeof id !== 'string' || !id.startsWith(PREFIX) || id.length !== PREFIX.length + 52) {
    return undefined;
  }
  const buffer = Buffer.from(id.slice(PREFIX.length), 'base64url');
  if (buffer.length !== BYTES || buffer.toString('base64url') !== id.slice(PREFIX.length)) {
    return undefined;
  }
  const metric = QUOTA_METRICS[buffer.readUInt8(16)];
  const tenantId = uuidOf(buffer.subarray(0, 16));
  const eventId = uuidOf(buffer.subarray(23, 39));
  if (!metric || !isUuid(tenantId) || !isUuid(eventId)) return undefined;
  return {
    tenantId: tenantId as TenantId,
    metric,
    occurredAtMs: buffer.readUIntBE(17, 6),
    eventId,
  };
}

function uuidOf(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
