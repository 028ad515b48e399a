import { asTenantId, PLATFORM_TENANT_ID, TenantDb } from '@app/authz';
import { Actor, RequestContext } from '@app/core';
import { Injectable, Logger } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { redactForAudit } from './audit-redaction';
import { AuditEventRecord, chainHash, ChainedAuditEvent, GENESIS_HASH } from './canonical';

/** What a caller says about an event; the service adds chain position, time and context. */
export interface AuditEventInput {
  /** The chain: a tenant id, or null for the operator's platform chain. */
  tenantId: string | null;
  /** Default: the request context's actor, else `anonymous`. `system` for jobs. */
  actor?: Actor | { type: 'anonymous' };
  /** `resource.verb`, e.g. `contract.activate`, `authz.denied`. */
  action: string;
  resource?: { type?: string; id?: string };
  outcome: 'success' | 'denied' | 'failure';
  reason?: string;
  /** Before/after snapshots; secrets are redacted here (see `redactForAudit`). */
  changes?: { before?: unknown; after?: unknown };
  /** Overrides for work outside a request (default: the request context's). */
  requestId?: string;
  ip?: string;
  userAgent?: string;
}

const HEAD_SQL = `
  INSERT INTO audit_chain_heads AS h (tenant_id, last_sequence, last_hash)
  VALUES ($1, 1, $2)
  ON CONFLICT (tenant_id) DO UPDATE SET last_sequence = h.last_sequence + 1, updated_at = now()
  RETURNING h.last_sequence::text AS sequence, h.last_hash AS prev_hash,
            to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at`;

const APPEND_SQL = `
  WITH event AS (
    INSERT INTO audit_events (tenant_id, sequence, id, occurred_at, actor_type, actor_id,
      actor_email, actor_key_prefix, actor_ip, actor_user_agent, action, resource_type,
      resource_id, outcome, reason, request_id, trace_id, changes, prev_hash, hash)
    VALUES ($1, $2, $3, $4::timestamptz, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
      $17, $18::jsonb, $19, $20)
  )
  UPDATE audit_chain_heads SET last_hash = $20 WHERE tenant_id = $1`;

/**
 * Appends audit events to their chain: `hash = SHA-256(prev_hash ‖ RFC 8785 JSON of the event)`.
 * Appending takes the chain head's row lock (an upsert), so writers to one chain queue up until
 * the transaction ends and the chain never forks; `(tenant_id, sequence)` is the table's key as a
 * second guard. Two round trips per event.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('AuditService');

  constructor(
    private readonly db: TenantDb,
    private readonly context: RequestContext,
  ) {}

  /**
   * Appends the event in `manager`'s transaction (the request's, for captured mutations): it
   * commits or rolls back with the change it records. The transaction must be able to see the
   * chain (scoped to its tenant, or platform-wide).
   */
  async append(manager: EntityManager, input: AuditEventInput): Promise<ChainedAuditEvent> {
    const chain = input.tenantId ?? PLATFORM_TENANT_ID;
    const [head]: { sequence: string; prev_hash: Buffer; occurred_at: string }[] =
      await manager.query(HEAD_SQL, [chain, GENESIS_HASH]);
    const actor = input.actor ?? this.context.actor ?? { type: 'anonymous' as const };
    const spanContext = trace.getActiveSpan()?.spanContext();
    const event: AuditEventRecord = {
      id: randomUUID(),
      tenantId: input.tenantId === PLATFORM_TENANT_ID ? null : input.tenantId,
      sequence: Number(head.sequence),
      occurredAt: head.occurred_at,
      actor: {
        type: actor.type,
        id: 'id' in actor ? actor.id : null,
        email: ('email' in actor && actor.email) || null,
        keyPrefix: ('keyPrefix' in actor && actor.keyPrefix) || null,
        ip: input.ip ?? this.context.ip ?? null,
        userAgent: truncate(input.userAgent ?? this.context.userAgent ?? null, 512),
      },
      action: input.action,
      resource: { type: input.resource?.type ?? null, id: input.resource?.id ?? null },
      outcome: input.outcome,
      reason: truncate(input.reason ?? null, 2000),
      requestId: input.requestId ?? this.context.requestId ?? null,
      traceId: spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : null,
      changes: input.changes
        ? (JSON.parse(JSON.stringify(redactForAudit(input.changes))) as AuditEventRecord['changes'])
        : null,
    };
    const prevHash = Buffer.from(head.prev_hash);
    const hash = chainHash(prevHash, event);
    await manager.query(APPEND_SQL, [
      chain,
      event.sequence,
      event.id,
      event.occurredAt,
      event.actor.type,
      event.actor.id,
      event.actor.email,
      event.actor.keyPrefix,
      event.actor.ip,
      event.actor.userAgent,
      event.action,
      event.resource.type,
      event.resource.id,
      event.outcome,
      event.reason,
      event.requestId,
      event.traceId,
      event.changes === null ? null : JSON.stringify(event.changes),
      prevHash,
      hash,
    ]);
    return { ...event, prevHash: prevHash.toString('hex'), hash: hash.toString('hex') };
  }

  /**
   * Appends the event in a transaction of its own, scoped to the chain's tenant: for what
   * happens outside a committed change (denials, failures, sign-ins, system actions).
   */
  appendDetached(input: AuditEventInput): Promise<ChainedAuditEvent> {
    const chain = asTenantId(input.tenantId ?? PLATFORM_TENANT_ID);
    return this.db.inTenant(chain, (manager) => this.append(manager, input));
  }

  /** {@link appendDetached}, logging instead of throwing (for hooks that must not fail a request). */
  async tryAppendDetached(input: AuditEventInput): Promise<void> {
    try {
      await this.appendDetached(input);
    } catch (error) {
      this.logger.error({ err: error, action: input.action }, 'audit event could not be written');
    }
  }
}

function truncate(value: string | null, max: number): string | null {
  return value !== null && value.length > max ? value.slice(0, max) : value;
}
