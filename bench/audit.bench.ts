/**
 * What the audit log costs, measured against a baseline in the same run:
 *
 * 1. Append throughput, 8 concurrent writers on one tenant's chain (the contended case: every
 *    append takes the chain head's row lock) vs plain inserts of the same rows into a copy of
 *    the table without chaining (no head, no hash), each in the same kind of scoped transaction.
 * 2. Export rows per second: the report exporter (COPY of PostgreSQL-rendered JSON Lines,
 *    SHA-256 of the bytes, backpressure) vs `COPY (SELECT ...) TO STDOUT` read by psql, over the same 200,000-event chain,
 *    with the exporter's peak heap.
 */
import '../apps/api/src/instrument';
import { AuditService, exportAuditEvents, exportCopyStatement } from '@app/audit';
import { asTenantId, TenantDb } from '@app/authz';
import { loadConfig } from '@app/core';
import { createTenant, createTestApp, TestApp, writeAuditChain } from '@app/testing';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import { API_HTTP_OPTIONS, AppModule } from '../apps/api/src/app.module';

const WRITERS = 8;
const SECONDS = 3;
const ROUNDS = 3;
const EXPORT_EVENTS = 200_000;

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Events per second that `WRITERS` loops achieve calling `write` for `SECONDS`. */
async function throughput(write: (writer: number) => Promise<void>): Promise<number> {
  const deadline = Date.now() + SECONDS * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      while (Date.now() < deadline) {
        await write(writer);
        count += 1;
      }
    }),
  );
  return Math.round(count / SECONDS);
}

async function appendBench(t: TestApp, superuser: Client): Promise<void> {
  await superuser.query(`DROP TABLE IF EXISTS audit_events_plain`);
  await superuser.query(
    `CREATE TABLE audit_events_plain (LIKE audit_events INCLUDING DEFAULTS INCLUDING INDEXES)`,
  );
  await superuser.query(`GRANT SELECT, INSERT ON audit_events_plain TO cp_app`);
  const audit = t.app.get(AuditService);
  const db = t.app.get(TenantDb);
  const chained = asTenantId((await createTenant(t)).id);
  const plainTenant = asTenantId((await createTenant(t)).id);
  let plainSequence = 0;
  const input = (tenantId: string) => ({
    tenantId,
    actor: { type: 'system' as const, id: 'bench' },
    action: 'bench.append',
    resource: { type: 'bench', id: randomUUID() },
    outcome: 'success' as const,
    changes: { after: { name: 'bench', roles: ['viewer'], scopes: [] } },
  });
  const plain = () =>
    db.inTenant(plainTenant, async (manager) => {
      plainSequence += 1;
      const event = input(plainTenant);
      await manager.query(
        `INSERT INTO audit_events_plain (tenant_id, sequence, id, occurred_at, actor_type, actor_id,
           action, resource_type, resource_id, outcome, changes, prev_hash, hash)
         VALUES ($1, $2, $3, clock_timestamp(), 'system', 'bench', $4, $5, $6, 'success', $7, $8, $8)`,
        [
          plainTenant,
          plainSequence,
          randomUUID(),
          event.action,
          event.resource.type,
          event.resource.id,
          JSON.stringify(event.changes),
          Buffer.alloc(32),
        ],
      );
    });
  const appended = () => audit.appendDetached(input(chained)).then(() => undefined);
  await throughput(plain);
  await throughput(appended);
  const plainRuns: number[] = [];
  const chainedRuns: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    plainRuns.push(await throughput(plain));
    chainedRuns.push(await throughput(appended));
  }
  console.log(`\nAudit append, ${WRITERS} concurrent writers on one tenant (${ROUNDS} rounds)`);
  console.table([
    {
      case: 'plain inserts (baseline)',
      'events/s (median)': median(plainRuns),
      'each round': plainRuns.join(' / '),
    },
    {
      case: 'hash-chained appends',
      'events/s (median)': median(chainedRuns),
      'each round': chainedRuns.join(' / '),
      'ratio to baseline': (median(chainedRuns) / median(plainRuns)).toFixed(2),
    },
  ]);
}

async function exportBench(t: TestApp, superuser: Client, databaseUrl: string): Promise<void> {
  const tenantId = asTenantId((await createTenant(t)).id);
  await writeAuditChain(superuser, tenantId, EXPORT_EVENTS);
  const db = t.app.get(TenantDb);
  const sink = () =>
    new Writable({
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
  const exporter = async () => {
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 10);
    const started = process.hrtime.bigint();
    const summary = await db.run(
      { kind: 'tenant', tenantId },
      () => exportAuditEvents(db.client, sink(), { chain: tenantId, filter: {}, format: 'jsonl' }),
      { readOnly: true, repeatableRead: true },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sample);
    if (summary.rowCount !== EXPORT_EVENTS) throw new Error(`exported ${summary.rowCount} rows`);
    return { rate: Math.round(EXPORT_EVENTS / seconds), peakMb: Math.round(peak / 2 ** 20) };
  };
  const psql = (statement: string) => {
    const started = process.hrtime.bigint();
    const result = spawnSync('psql', [databaseUrl, '-q', '-c', statement], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (result.status !== 0) throw new Error('psql COPY failed');
    return Math.round(EXPORT_EVENTS / (Number(process.hrtime.bigint() - started) / 1e9));
  };
  // The same rows the exporter streams (PostgreSQL renders each JSON line), read by psql.
  const copy = () => psql(exportCopyStatement(`e.tenant_id = '${tenantId}'`, 'jsonl'));
  // For reference: the raw columns, nothing rendered.
  const raw = () =>
    psql(
      `COPY (SELECT * FROM audit_events WHERE tenant_id = '${tenantId}' ORDER BY sequence) TO STDOUT`,
    );
  copy();
  await exporter();
  const copyRuns: number[] = [];
  const rawRuns: number[] = [];
  const exportRuns: { rate: number; peakMb: number }[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    copyRuns.push(copy());
    exportRuns.push(await exporter());
    rawRuns.push(raw());
  }
  const exportMedian = median(exportRuns.map((r) => r.rate));
  console.log(`\nAudit export of ${EXPORT_EVENTS.toLocaleString('en')} events (${ROUNDS} rounds)`);
  console.table([
    {
      case: 'psql COPY TO STDOUT (baseline)',
      'rows/s (median)': median(copyRuns),
      'each round': copyRuns.join(' / '),
    },
    {
      case: 'report exporter (JSON Lines + SHA-256)',
      'rows/s (median)': exportMedian,
      'each round': exportRuns.map((r) => r.rate).join(' / '),
      'ratio to baseline': (exportMedian / median(copyRuns)).toFixed(2),
      'peak heap MB': Math.max(...exportRuns.map((r) => r.peakMb)),
    },
    {
      case: 'psql COPY of raw columns (reference)',
      'rows/s (median)': median(rawRuns),
      'each round': rawRuns.join(' / '),
      'ratio to baseline': (median(rawRuns) / median(copyRuns)).toFixed(2),
    },
  ]);
}

async function main(): Promise<void> {
  const databaseUrl = loadConfig(process.env).DATABASE_URL;
  const t = await createTestApp(
    (config, options) => AppModule.register(config, options),
    API_HTTP_OPTIONS,
  );
  const superuser = new Client({ connectionString: databaseUrl });
  await superuser.connect();
  try {
    await appendBench(t, superuser);
    await exportBench(t, superuser, databaseUrl);
  } finally {
    await superuser.end();
    await t.close();
  }
}

void main();
