import { asTenantId, PLATFORM_TENANT_ID, TenantDb } from '@app/authz';
import { Actor, RequestContext } from '@app/core';
import { Injectable, Logger } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { utcMicrosSql } from './audit-event-row';
import { redactForAudit } from './audit-redaction';
import { AuditEventRecord, canonicalEvent, ChainedAuditEvent, GENESIS_HASH } from './canonical';

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

interface AppendedRow extends Record<string, unknown> {
  sequence: string;
  prev_hash: string;
  hash: string;
  occurred_at: string;
}

/** Creates a chain's head (sequence 0, genesis) the first time the chain is written. */
const CREATE_HEAD_SQL = `
  INSERT INTO audit_chain_heads (tenant_id, last_sequence, last_hash, last_prev_hash)
  VALUES ($1, 0, $2, $2) ON CONFLICT (tenant_id) DO NOTHING`;

/**
 * Appends one event in one statement: moves the chain head (taking its row lock), computes the
 * event's hash in PostgreSQL from the canonical JSON the caller prepared around the two values
 * only known under the lock (occurredAt and sequence), and inserts the event. The lock is then
 * held only until the transaction commits.
 */
const APPEND_SQL = `
  WITH head AS (
    UPDATE audit_chain_heads h
       SET last_sequence = h.last_sequence + 1,
           last_prev_hash = h.last_hash,
           last_hash = sha256(h.last_hash || convert_to(
             $2 || c.occurred_at || $3 || (h.last_sequence + 1)::text || $4, 'UTF8')),
           updated_at = now()
      FROM (SELECT ${utcMicrosSql('clock_timestamp()')} AS occurred_at) c
     WHERE h.tenant_id = $1
    RETURNING h.last_sequence, h.last_prev_hash, h.last_hash, c.occurred_at
  )
  INSERT INTO audit_events (tenant_id, sequence, id, occurred_at, actor_type, actor_id,
    actor_email, actor_key_prefix, actor_ip, actor_user_agent, action, resource_type,
    resource_id, outcome, reason, request_id, trace_id, changes, prev_hash, hash)
  SELECT $1, head.last_sequence, $5, head.occurred_at::timestamptz, $6, $7, $8, $9, $10, $11,
         $12, $13, $14, $15, $16, $17, $18, $19::jsonb, head.last_prev_hash, head.last_hash
    FROM head
  RETURNING sequence::text AS sequence, encode(prev_hash, 'hex') AS prev_hash,
            encode(hash, 'hex') AS hash,
            ${utcMicrosSql('occurred_at')} AS occurred_at`;

/**
 * The canonical JSON of `event` split around its occurredAt and sequence values, which
 * PostgreSQL fills in under the chain lock: `prefix ‖ occurredAt ‖ middle ‖ sequence ‖ suffix`
 * is exactly {@link canonicalEvent}. Unique placeholders mark the two places (RFC 8785 sorts
 * `occurredAt` before `sequence`).
 */
function canonicalTemplate(
  event: Omit<AuditEventRecord, 'occurredAt' | 'sequence'>,
): [string, string, string] {
  const marker = randomUUID();
  const text = canonicalEvent({
    ...event,
    occurredAt: `t${marker}`,
    sequence: `s${marker}` as unknown as number,
  }).toString('utf8');
  const [prefix, rest] = text.split(`t${marker}`);
  const [middle, suffix] = rest.split(`"s${marker}"`);
  return [prefix, middle, suffix];
}

/**
 * Appends audit events to their chain: `hash = SHA-256(prev_hash ‖ RFC 8785 JSON of the event)`.
 * Appending moves the chain head (an UPDATE, which takes its row lock), so writers to one chain
 * queue up until the transaction ends and the chain never forks; `(tenant_id, sequence)` is the
 * table's key as a second guard. One statement per event (two for a chain's first).
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('AuditService');
  /** Detached events waiting for their chain's next transaction ({@link flush}). */
  private readonly pending = new Map<
    string,
    {
      input: AuditEventInput;
      event: Omit<AuditEventRecord, 'occurredAt' | 'sequence'>;
      params: unknown[];
      resolve: (event: ChainedAuditEvent) => void;
      reject: (error: Error) => void;
    }[]
  >();

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
    const { chain, event, params } = this.prepare(input);
    let rows: AppendedRow[] = await manager.query(APPEND_SQL, params);
    if (rows.length === 0) {
      // The chain's first event: create its head, then append.
      await manager.query(CREATE_HEAD_SQL, [chain, GENESIS_HASH]);
      rows = await manager.query(APPEND_SQL, params);
    }
    return this.appended(event, rows[0]);
  }

  /** The event's fields, its canonical template and the statement's parameters. */
  private prepare(input: AuditEventInput): {
    chain: string;
    event: Omit<AuditEventRecord, 'occurredAt' | 'sequence'>;
    params: unknown[];
  } {
    const chain = input.tenantId ?? PLATFORM_TENANT_ID;
    const actor = input.actor ?? this.context.actor ?? { type: 'anonymous' as const };
    const spanContext = trace.getActiveSpan()?.spanContext();
    const event: Omit<AuditEventRecord, 'occurredAt' | 'sequence'> = {
      id: randomUUID(),
      tenantId: chain === PLATFORM_TENANT_ID ? null : chain,
      actor: {
        type: actor.type,
        id: text('id' in actor ? actor.id : null, 200),
        email: text('email' in actor ? actor.email : null, 320),
        keyPrefix: text('keyPrefix' in actor ? actor.keyPrefix : null, 64),
        ip: text(input.ip ?? this.context.ip, 100),
        userAgent: text(input.userAgent ?? this.context.userAgent, 512),
      },
      action: input.action,
      resource: { type: text(input.resource?.type, 200), id: text(input.resource?.id, 200) },
      outcome: input.outcome,
      reason: text(input.reason, 2000),
      requestId: text(input.requestId ?? this.context.requestId, 200),
      traceId: spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : null,
      changes: input.changes
        ? (storable(
            JSON.parse(JSON.stringify(redactForAudit(input.changes)) ?? 'null'),
          ) as AuditEventRecord['changes'])
        : null,
    };
    const [prefix, middle, suffix] = canonicalTemplate(event);
    const params = [
      chain,
      prefix,
      middle,
      suffix,
      event.id,
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
    ];
    return { chain, event, params };
  }

  private appended(
    event: Omit<AuditEventRecord, 'occurredAt' | 'sequence'>,
    row: AppendedRow,
  ): ChainedAuditEvent {
    return {
      ...event,
      sequence: Number(row.sequence),
      occurredAt: row.occurred_at,
      prevHash: row.prev_hash,
      hash: row.hash,
    };
  }

  /**
   * Appends the event in a transaction of its own, scoped to the chain's tenant: for what
   * happens outside a committed change (denials, failures, sign-ins, system actions). Resolves
   * once it has committed.
   */
  appendDetached(input: AuditEventInput): Promise<ChainedAuditEvent> {
    const prepared = this.prepare(input);
    return new Promise((resolve, reject) => {
      const queue = this.pending.get(prepared.chain);
      const entry = { ...prepared, input, resolve, reject };
      if (queue) {
        queue.push(entry);
        return;
      }
      this.pending.set(prepared.chain, [entry]);
      void this.flush(prepared.chain);
    });
  }

  /**
   * Group commit for one chain's detached events: while a transaction for the chain is in
   * flight, new events wait; the next transaction appends all of them (up to 100), in one round
   * trip with BEGIN and COMMIT. The chain's lock is then held for one commit per batch instead
   * of one per event, which is what bounds a chain's throughput (each commit waits for its WAL
   * flush).
   */
  private async flush(chain: string): Promise<void> {
    for (;;) {
      const queue = this.pending.get(chain);
      if (!queue || queue.length === 0) {
        this.pending.delete(chain);
        return;
      }
      const batch = queue.splice(0, 100);
      try {
        const results = await this.appendBatch(chain, batch);
        batch.forEach((entry, i) => entry.resolve(this.appended(entry.event, results[i])));
      } catch {
        // One bad event must not cost the others: append them one by one.
        for (const entry of batch) {
          try {
            const [row] = await this.appendBatch(chain, [entry]);
            entry.resolve(this.appended(entry.event, row));
          } catch (error) {
            const driverCode = (error as { code?: string }).code;
            if (driverCode === '23503' && chain !== PLATFORM_TENANT_ID) {
              // The chain's tenant does not exist (a request for an unknown tenant): keep the
              // event on the platform chain rather than lose it.
              this.appendDetached({
                ...entry.input,
                tenantId: null,
                reason:
                  `${entry.input.reason ?? ''} [for tenant ${chain}, which does not exist]`.trim(),
              }).then(entry.resolve, entry.reject);
            } else {
              entry.reject(error as Error);
            }
          }
        }
      }
    }
  }

  private async appendBatch(chain: string, batch: { params: unknown[] }[]): Promise<AppendedRow[]> {
    const results = await this.db.oneShot<AppendedRow>(
      { kind: 'tenant', tenantId: asTenantId(chain) },
      [
        { sql: CREATE_HEAD_SQL, params: [chain, GENESIS_HASH] },
        ...batch.map((entry) => ({ sql: APPEND_SQL, params: entry.params })),
      ],
    );
    return results.slice(1).map((rows) => rows[0]);
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

/**
 * Text exactly as PostgreSQL will store it, so the hash covers what is kept: NUL (which text and
 * jsonb refuse) and lone UTF-16 surrogates (which the driver would turn into U+FFFD) become
 * U+FFFD here, and a long value is cut at `max` code points, never inside a surrogate pair.
 */
function clean(value: string, max = Infinity): string {
  let result = (value as unknown as { toWellFormed(): string })
    .toWellFormed()
    .replaceAll('\u0000', '\uFFFD');
  if (result.length > max) {
    const points = Array.from(result);
    if (points.length > max) result = points.slice(0, max).join('');
  }
  return result;
}

/** Empty strings become null (so CSV exports stay lossless); see {@link clean}. */
function text(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined || value === '') return null;
  return clean(String(value), max) || null;
}

/** A JSON value with every string (keys included) made storable ({@link clean}). */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) return value.map(storable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), storable(v)]));
  }
  return value;
}
