import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The hash a chain starts from: 32 zero bytes. */
export const GENESIS_HASH = Buffer.alloc(32);

/**
 * An audit event as it is hashed, exported and shown (API.md, Audit): every field but the hashes.
 * `tenantId` is null on the platform chain; `occurredAt` is UTC with microseconds
 * (`2027-01-01T00:00:00.123456Z`), exactly as PostgreSQL stores it.
 */
export interface AuditEventRecord {
  id: string;
  tenantId: string | null;
  sequence: number;
  occurredAt: string;
  actor: {
    type: 'user' | 'api_key' | 'system' | 'anonymous';
    id: string | null;
    email: string | null;
    keyPrefix: string | null;
    ip: string | null;
    userAgent: string | null;
  };
  action: string;
  resource: { type: string | null; id: string | null };
  outcome: 'success' | 'denied' | 'failure';
  reason: string | null;
  requestId: string | null;
  traceId: string | null;
  changes: { before?: unknown; after?: unknown } | null;
}

/** An event with its place in the chain (hex SHA-256 digests). */
export interface ChainedAuditEvent extends AuditEventRecord {
  prevHash: string;
  hash: string;
}

/**
 * The bytes hashed for an event: its RFC 8785 (JSON Canonicalization Scheme) serialization,
 * UTF-8. Every field is present (absent values are null), so the form is unambiguous.
 */
export function canonicalEvent(event: AuditEventRecord): Buffer {
  const record: AuditEventRecord = {
    id: event.id,
    tenantId: event.tenantId,
    sequence: event.sequence,
    occurredAt: event.occurredAt,
    actor: {
      type: event.actor.type,
      id: event.actor.id,
      email: event.actor.email,
      keyPrefix: event.actor.keyPrefix,
      ip: event.actor.ip,
      userAgent: event.actor.userAgent,
    },
    action: event.action,
    resource: { type: event.resource.type, id: event.resource.id },
    outcome: event.outcome,
    reason: event.reason,
    requestId: event.requestId,
    traceId: event.traceId,
    changes: event.changes,
  };
  return Buffer.from(canonicalize(record) as string, 'utf8');
}

/** `SHA-256(prev_hash ‖ canonical JSON of the event)`, the chain's link rule. */
export function chainHash(prevHash: Buffer, event: AuditEventRecord): Buffer {
  return createHash('sha256').update(prevHash).update(canonicalEvent(event)).digest();
}
