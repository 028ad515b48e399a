import type { ChainedAuditEvent } from './canonical';

/**
 * SQL rendering a timestamptz as the canonical `occurredAt` text: UTC, always six fraction
 * digits (`2027-01-01T00:00:00.123456Z`), exactly what PostgreSQL stores, so what is hashed and
 * what is read back are the same string.
 */
export function utcMicrosSql(expression: string): string {
  return `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Columns of `audit_events` as read for hashing, export and display (alias `e`). */
export const AUDIT_EVENT_COLUMNS = `e.id, e.tenant_id, e.sequence::text AS sequence,
  ${utcMicrosSql('e.occurred_at')} AS occurred_at,
  e.actor_type, e.actor_id, e.actor_email, e.actor_key_prefix, e.actor_ip, e.actor_user_agent,
  e.action, e.resource_type, e.resource_id, e.outcome, e.reason, e.request_id, e.trace_id,
  e.changes, encode(e.prev_hash, 'hex') AS prev_hash, encode(e.hash, 'hex') AS hash`;

export interface AuditEventRow {
  id: string;
  tenant_id: string;
  sequence: string;
  occurred_at: string;
  actor_type: ChainedAuditEvent['actor']['type'];
  actor_id: string | null;
  actor_email: string | null;
  actor_key_prefix: string | null;
  actor_ip: string | null;
  actor_user_agent: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: ChainedAuditEvent['outcome'];
  reason: string | null;
  request_id: string | null;
  trace_id: string | null;
  changes: ChainedAuditEvent['changes'];
  prev_hash: string;
  hash: string;
}

/** The platform chain's id (authz's PLATFORM_TENANT_ID), kept here so exports load nothing else. */
const PLATFORM_CHAIN = '00000000-0000-0000-0000-000000000000';

/** A stored row as the event it records (the platform chain's tenant is null). */
export function toAuditEvent(row: AuditEventRow): ChainedAuditEvent {
  return {
    id: row.id,
    tenantId: row.tenant_id === PLATFORM_CHAIN ? null : row.tenant_id,
    sequence: Number(row.sequence),
    occurredAt: row.occurred_at,
    actor: {
      type: row.actor_type,
      id: row.actor_id,
      email: row.actor_email,
      keyPrefix: row.actor_key_prefix,
      ip: row.actor_ip,
      userAgent: row.actor_user_agent,
    },
    action: row.action,
    resource: { type: row.resource_type, id: row.resource_id },
    outcome: row.outcome,
    reason: row.reason,
    requestId: row.request_id,
    traceId: row.trace_id,
    changes: row.changes,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
