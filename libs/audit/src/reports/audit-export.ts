import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { AUDIT_EVENT_COLUMNS, AuditEventRow, toAuditEvent } from '../events/audit-event-row';
import { AuditEventFilter, filterSql } from '../events/audit-filter';
import type { ChainedAuditEvent } from '../events/canonical';
import { CSV_COLUMNS } from './csv-columns';

export { CSV_COLUMNS };

/** Runs one SQL statement in the caller's (tenant-scoped) transaction. */
export type QueryFn = (sql: string, params: unknown[]) => Promise<AuditEventRow[]>;

export type ExportFormat = 'jsonl' | 'csv';

/** What an export wrote: the facts a manifest signs. */
export interface ExportSummary {
  rowCount: number;
  /** Hex SHA-256 of the bytes written. */
  sha256: string;
  firstSequence: number | null;
  lastSequence: number | null;
  /** The link before the first row (hex), so the file's chain can be checked on its own. */
  firstPrevHash: string | null;
  lastHash: string | null;
  /** True when the rows are consecutive sequences (no filter removed any in between). */
  contiguous: boolean;
}

export interface ExportOptions {
  chain: string;
  filter: AuditEventFilter;
  format: ExportFormat;
  /** Rows per query (keyset on sequence); memory holds one batch. */
  batchSize?: number;
  /** Aborting stops before the next query. */
  signal?: AbortSignal;
}

export function csvLine(event: ChainedAuditEvent): string {
  return stringify([
    [
      event.id,
      event.tenantId,
      event.sequence,
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
      event.prevHash,
      event.hash,
    ],
  ]);
}

/**
 * Streams one chain's events in sequence order to `out` as JSON Lines (one API-shaped event per
 * line) or CSV (a header, then {@link CSV_COLUMNS}), in batches by keyset on `sequence` so the
 * range is never held in memory, honouring backpressure. Hashes the bytes as it goes.
 *
 * @throws the abort reason when `signal` aborts (the next query is not run)
 */
export async function exportAuditEvents(
  query: QueryFn,
  out: Writable,
  options: ExportOptions,
): Promise<ExportSummary> {
  const batchSize = options.batchSize ?? 5000;
  const digest = createHash('sha256');
  const summary: ExportSummary = {
    rowCount: 0,
    sha256: '',
    firstSequence: null,
    lastSequence: null,
    firstPrevHash: null,
    lastHash: null,
    contiguous: true,
  };
  const write = async (text: string) => {
    const chunk = Buffer.from(text, 'utf8');
    digest.update(chunk);
    // Waiting for 'drain' ends with the abort too: a gone client never drains.
    if (!out.write(chunk)) await once(out, 'drain', { signal: options.signal });
  };
  if (options.format === 'csv') await write(stringify([[...CSV_COLUMNS]]));
  let after = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const params: unknown[] = [options.chain, after];
    const where = `e.tenant_id = $1 AND e.sequence > $2 AND ${filterSql(options.filter, params)}`;
    params.push(batchSize);
    const rows = await query(
      `SELECT ${AUDIT_EVENT_COLUMNS} FROM audit_events e WHERE ${where}
        ORDER BY e.sequence LIMIT $${params.length}`,
      params,
    );
    let text = '';
    for (const row of rows) {
      const event = toAuditEvent(row);
      if (summary.lastSequence !== null && event.sequence !== summary.lastSequence + 1) {
        summary.contiguous = false;
      }
      if (summary.firstSequence === null) {
        summary.firstSequence = event.sequence;
        summary.firstPrevHash = event.prevHash;
      }
      summary.lastSequence = event.sequence;
      summary.lastHash = event.hash;
      summary.rowCount += 1;
      text += options.format === 'jsonl' ? `${JSON.stringify(event)}\n` : csvLine(event);
    }
    if (text) await write(text);
    if (rows.length < batchSize) break;
    after = Number(rows[rows.length - 1].sequence);
  }
  summary.sha256 = digest.digest('hex');
  return summary;
}
