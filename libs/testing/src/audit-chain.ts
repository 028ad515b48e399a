import { AuditEventRecord, chainHash } from '@app/audit';
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';

/**
 * Writes `count` correctly chained audit events for `tenantId` straight into `audit_events`
 * (and its chain head), 10,000 rows per statement, for tests and benchmarks that need a long
 * chain quickly. The connection must be allowed to insert (the tests' superuser).
 */
export async function writeAuditChain(
  client: Client,
  tenantId: string,
  count: number,
  /** The first event's time; each next one a millisecond later. */
  start = new Date('2027-01-01T00:00:00Z'),
): Promise<void> {
  const batch = 10_000;
  let prev: Buffer = Buffer.alloc(32);
  let beforeLast: Buffer = Buffer.alloc(32);
  const base = start.getTime();
  for (let start = 1; start <= count; start += batch) {
    const ids: string[] = [];
    const sequences: number[] = [];
    const times: string[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (let sequence = start; sequence < start + batch && sequence <= count; sequence += 1) {
      const occurredAt = new Date(base + sequence).toISOString().replace('Z', '000Z');
      const event: AuditEventRecord = {
        id: randomUUID(),
        tenantId,
        sequence,
        occurredAt,
        actor: {
          type: 'system',
          id: 'bulk',
          email: null,
          keyPrefix: null,
          ip: null,
          userAgent: null,
        },
        action: 'test.bulk',
        resource: { type: null, id: null },
        outcome: 'success',
        reason: null,
        requestId: null,
        traceId: null,
        changes: null,
      };
      const hash = chainHash(prev, event);
      ids.push(event.id);
      sequences.push(sequence);
      times.push(occurredAt);
      prevs.push(prev.toString('hex'));
      hashes.push(hash.toString('hex'));
      beforeLast = prev;
      prev = hash;
    }
    await client.query(
      `INSERT INTO audit_events (tenant_id, sequence, id, occurred_at, actor_type, actor_id, action,
         outcome, prev_hash, hash)
       SELECT $1, s, i, t::timestamptz, 'system', 'bulk', 'test.bulk', 'success',
              decode(p, 'hex'), decode(h, 'hex')
         FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[]) AS u(s, i, t, p, h)`,
      [tenantId, sequences, ids, times, prevs, hashes],
    );
  }
  await client.query(
    `INSERT INTO audit_chain_heads (tenant_id, last_sequence, last_hash, last_prev_hash)
     VALUES ($1, $2, $3, $4)`,
    [tenantId, count, prev, beforeLast],
  );
  // As autovacuum would after a bulk load: keyset batches need the planner to know the size.
  await client.query('ANALYZE audit_events');
}
