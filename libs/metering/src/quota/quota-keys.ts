import { isUuid, TenantId } from '@app/authz';
import { QUOTA_METRICS, QuotaMetric } from '@app/tenancy';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

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
  /** A rate-limit window of `rateKey` (an API key id) that starts at `windowStartMs`. */
  rateWindow: (tenantId: string, rateKey: string, windowStartMs: number) =>
    `{${tenantId}}:rl:${rateKey}:${windowStartMs}`,
};

/**
 * What a rate-limit key may be (an API key id, say): it becomes part of Redis key names and of
 * reservation ids, so no separators (`.`, `,`, `:`, `~`) and at most 64 characters.
 */
export const RATE_LIMIT_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/** The rate-limit window a token reservation counted in, trued up to the actual on commit. */
export interface CountedWindow {
  key: string;
  windowStartMs: number;
  /** Tokens counted at reservation (the estimate). */
  tokens: number;
}

/** What a reservation id carries, so that it can be settled, and counted when Redis lost it. */
export interface ReservationRef {
  tenantId: TenantId;
  metric: QuotaMetric;
  /** When the usage occurred (the reservation instant), ms since the epoch. */
  occurredAtMs: number;
  /** The ledger id of the usage event its commit records (a UUID). */
  eventId: string;
}

const ID =
  /^(qr_([0-9a-f]{32})\.([a-z_]+)\.(\d{1,15})\.([0-9a-f]{32})\.(\d{1,16})(?:\.(?:(?:term|month|day|level):\d{1,15},?)+)?(?:\.rl=[A-Za-z0-9_-]{1,64}:\d{1,15}:\d{1,16})?)~([0-9a-f]{32})$/;

/**
 * A reservation's member in its tenant's expiry set:
 * `qr_<tenant>.<metric>.<occurredAtMs>.<eventId>.<quantity>.<counters>.rl=<window>` (hex ids,
 * decimal numbers, counters as `<kind>:<periodStartMs>` joined by commas, both optional; the
 * window as `<key>:<windowStartMs>:<tokens>`), which carries everything
 * needed to settle it, so Redis keeps nothing else per reservation (see quota-scripts.ts). The
 * reservation id callers get is the member, `~`, and its MAC ({@link signedReservationId}), so
 * an id nobody issued is refused instead of recording usage. Opaque to callers.
 */
export function newReservationId(
  tenantId: TenantId,
  metric: QuotaMetric,
  occurredAtMs: number,
  quantity: number,
  counters: readonly { kind: CounterKind; periodStartMs: number }[],
  eventId: string = randomUUID(),
  window?: CountedWindow,
): { member: string; ref: ReservationRef } {
  const lines = counters.map((c) => `${c.kind}:${c.periodStartMs}`);
  const member =
    `qr_${hex(tenantId)}.${metric}.${occurredAtMs}.${hex(eventId)}.${quantity}` +
    (lines.length > 0 ? `.${lines.join(',')}` : '') +
    (window ? `.rl=${window.key}:${window.windowStartMs}:${window.tokens}` : '');
  return { member, ref: { tenantId, metric, occurredAtMs, eventId } };
}

/** The reservation id of `member`: the member, `~`, and the first 128 bits of its HMAC. */
export function signedReservationId(member: string, key: Buffer): string {
  return `${member}~${macOf(member, key)}`;
}

/**
 * Reads a reservation id; undefined when it is malformed or its MAC is not `key`'s (an id this
 * service never issued).
 */
export function parseReservationId(
  id: unknown,
  key: Buffer,
): { member: string; ref: ReservationRef } | undefined {
  if (typeof id !== 'string' || id.length > 512) return undefined;
  const match = ID.exec(id);
  if (!match) return undefined;
  const [, member, tenantHex, metricName, at, eventHex, quantityText, mac] = match;
  const expected = Buffer.from(macOf(member, key), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(mac, 'hex'))) return undefined;
  const metric = metricName as QuotaMetric;
  const tenantId = uuidOf(tenantHex);
  const eventId = uuidOf(eventHex);
  const quantity = Number(quantityText);
  if (!QUOTA_METRICS.includes(metric) || !isUuid(tenantId) || !isUuid(eventId)) return undefined;
  if (!Number.isSafeInteger(quantity) || quantity < 1) return undefined;
  return {
    member,
    ref: {
      tenantId: tenantId as TenantId,
      metric,
      occurredAtMs: Number(at),
      eventId,
    },
  };
}

function macOf(member: string, key: Buffer): string {
  return createHmac('sha256', key).update(member).digest('hex').slice(0, 32);
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
