import { createHash } from 'node:crypto';
import { Transform, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { utcMicrosSql } from '../events/audit-event-row';
import { AuditEventFilter, filterSql } from '../events/audit-filter';
import { CSV_COLUMNS } from './csv-columns';

export { CSV_COLUMNS };

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
  /** Aborting stops the query (a protocol cancel request, as psql's Ctrl-C), then rejects. */
  signal?: AbortSignal;
}

/**
 * Sends PostgreSQL's CancelRequest for the connection's running statement (frontend/backend
 * protocol §55.2.8: backend pid and secret key, no authentication), through node-postgres.
 */
function cancelRunning(client: PoolClient, query: unknown): void {
  const target = client as unknown as {
    host: string;
    port: number;
    constructor: new (config: object) => { cancel(client: unknown, query: unknown): void };
  };
  new target.constructor({ host: target.host, port: target.port }).cancel(client, query);
}

const OCCURRED_AT = utcMicrosSql('e.occurred_at');
const TENANT = `CASE WHEN e.tenant_id = '00000000-0000-0000-0000-000000000000' THEN NULL ELSE e.tenant_id END`;

/** A nullable text column as a JSON value (`to_json` escapes per RFC 8259). */
const json = (column: string) => `coalesce(to_json(${column})::text, 'null')`;

/**
 * One JSON Lines row as PostgreSQL renders it: the API's event shape, so a report line parses to
 * exactly what `GET .../audit/events` shows. Built by concatenation, twice as fast as
 * `json_build_object`; every text value goes through `to_json`, and the rest are UUIDs, numbers,
 * hex and values the table's CHECK constraints limit to plain words.
 */
const JSON_LINE = `'{"id":"' || e.id || '","tenantId":' ||
    CASE WHEN e.tenant_id = '00000000-0000-0000-0000-000000000000' THEN 'null'
         ELSE '"' || e.tenant_id || '"' END ||
    ',"sequence":' || e.sequence || ',"occurredAt":"' || ${OCCURRED_AT} ||
    '","actor":{"type":"' || e.actor_type || '","id":' || ${json('e.actor_id')} ||
    ',"email":' || ${json('e.actor_email')} || ',"keyPrefix":' || ${json('e.actor_key_prefix')} ||
    ',"ip":' || ${json('e.actor_ip')} || ',"userAgent":' || ${json('e.actor_user_agent')} ||
    '},"action":' || to_json(e.action)::text ||
    ',"resource":{"type":' || ${json('e.resource_type')} || ',"id":' || ${json('e.resource_id')} ||
    '},"outcome":"' || e.outcome || '","reason":' || ${json('e.reason')} ||
    ',"requestId":' || ${json('e.request_id')} || ',"traceId":' || ${json('e.trace_id')} ||
    ',"changes":' || coalesce(e.changes::text, 'null') ||
    ',"prevHash":"' || encode(e.prev_hash, 'hex') || '","hash":"' || encode(e.hash, 'hex') || '"}'`;

/** The CSV columns ({@link CSV_COLUMNS}, in order) as SQL. */
const CSV_SELECT = [
  'e.id',
  TENANT,
  'e.sequence',
  OCCURRED_AT,
  'e.actor_type',
  'e.actor_id',
  'e.actor_email',
  'e.actor_key_prefix',
  'e.actor_ip',
  'e.actor_user_agent',
  'e.action',
  'e.resource_type',
  'e.resource_id',
  'e.outcome',
  'e.reason',
  'e.request_id',
  'e.trace_id',
  'e.changes::text',
  `encode(e.prev_hash, 'hex')`,
  `encode(e.hash, 'hex')`,
]
  .map((sql, i) => `${sql} AS "${CSV_COLUMNS[i]}"`)
  .join(', ');

/**
 * The COPY statement an export runs for rows matching `where` (positional parameters not yet
 * inlined). JSON Lines go through CSV mode with delimiter and quote bytes JSON never contains
 * raw (it escapes every control character), so each line comes out verbatim; text mode would
 * double backslashes.
 */
export function exportCopyStatement(where: string, format: ExportFormat): string {
  return format === 'jsonl'
    ? `COPY (SELECT ${JSON_LINE} FROM audit_events e WHERE ${where} ORDER BY e.sequence)
         TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')`
    : `COPY (SELECT ${CSV_SELECT} FROM audit_events e WHERE ${where} ORDER BY e.sequence)
         TO STDOUT WITH (FORMAT csv, HEADER true)`;
}

/**
 * Inlines positional parameters as literals (COPY takes none); values are escaped by pg. The same
 * rule as core's `inlineParameters`, kept here so the exporter loads without the rest of the
 * libraries (the 1,000,000-event test runs it alone in a process capped at 256 MB).
 */
function inline(sql: string, params: unknown[], client: PoolClient): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    if (value === null || value === undefined) return 'NULL';
    const text = value instanceof Date ? value.toISOString() : String(value);
    return client.escapeLiteral(text);
  });
}

/**
 * Streams one chain's events in sequence order to `out` with PostgreSQL's `COPY ... TO STDOUT`:
 * JSON Lines (one API-shaped event per line, rendered by PostgreSQL) or CSV (RFC 4180, a header,
 * then {@link CSV_COLUMNS}; empty means null). Nothing is held in memory beyond the stream's
 * buffers, backpressure included; the bytes are hashed as they pass. The summary (count, first
 * and last sequence and hash) is read first in the same transaction, which must be REPEATABLE
 * READ so both see the same rows.
 *
 * @param client a connection inside a scoped, REPEATABLE READ transaction
 * @throws the abort reason when `signal` aborts, once the cancelled COPY has ended (the
 *   connection is then usable for ROLLBACK)
 */
export async function exportAuditEvents(
  client: PoolClient,
  out: Writable,
  options: ExportOptions,
): Promise<ExportSummary> {
  const params: unknown[] = [options.chain];
  const where = `e.tenant_id = $1 AND ${filterSql(options.filter, params)}`;
  const {
    rows: [facts],
  } = await client.query<{
    row_count: string;
    first_sequence: string | null;
    last_sequence: string | null;
  }>(
    `SELECT count(*)::text AS row_count, min(e.sequence)::text AS first_sequence,
            max(e.sequence)::text AS last_sequence
       FROM audit_events e WHERE ${where}`,
    params,
  );
  const rowCount = Number(facts.row_count);
  const firstSequence = facts.first_sequence === null ? null : Number(facts.first_sequence);
  const lastSequence = facts.last_sequence === null ? null : Number(facts.last_sequence);
  let firstPrevHash: string | null = null;
  let lastHash: string | null = null;
  if (firstSequence !== null) {
    const { rows } = await client.query<{ sequence: string; prev_hash: string; hash: string }>(
      `SELECT sequence::text, encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
         FROM audit_events WHERE tenant_id = $1 AND sequence IN ($2, $3)`,
      [options.chain, firstSequence, lastSequence],
    );
    firstPrevHash = rows.find((r) => Number(r.sequence) === firstSequence)!.prev_hash;
    lastHash = rows.find((r) => Number(r.sequence) === lastSequence)!.hash;
  }
  const copy = inline(exportCopyStatement(where, options.format), params, client);
  const digest = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      digest.update(chunk);
      callback(null, chunk);
    },
  });
  const source = client.query(copyTo(copy));
  const copied = new Promise<void>((resolve, reject) => {
    source.once('end', resolve);
    source.once('error', reject);
  });
  // Plain pipes (not pipeline): aborting must not destroy the COPY stream, which would leave
  // the connection waiting for a COPY that no one reads.
  const delivered = finished(hashing);
  source.pipe(hashing).pipe(out, { end: false });
  const aborted = new Promise<never>((_, reject) => {
    if (options.signal?.aborted) reject(options.signal.reason);
    options.signal?.addEventListener('abort', () => reject(options.signal!.reason), {
      once: true,
    });
  });
  try {
    await Promise.race([Promise.all([copied, delivered]), aborted]);
  } catch (error) {
    // The consumer went away (or the COPY failed): stop the query itself, drain what is still
    // in flight, and wait until the connection is free for ROLLBACK.
    source.unpipe(hashing);
    hashing.unpipe(out);
    cancelRunning(client, source);
    source.resume();
    await copied.catch(() => undefined);
    throw error;
  }
  return {
    rowCount,
    sha256: digest.digest('hex'),
    firstSequence,
    lastSequence,
    firstPrevHash,
    lastHash,
    contiguous: firstSequence === null || (lastSequence as number) - firstSequence + 1 === rowCount,
  };
}
