/**
 * Runs one audit export in its own process, so the test can cap its heap
 * (`node --max-old-space-size=256`): `export-child <databaseUrl> <tenantId> <file> <format>`.
 * Prints `{rowCount, sha256, peakHeapMb, peakRssMb}` as JSON.
 */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Pool } from 'pg';
// A deep import on purpose: the capped child loads the exporter alone, not the whole library.
// eslint-disable-next-line no-restricted-imports
import { exportAuditEvents } from '../../../libs/audit/src/reports/audit-export';

async function main(): Promise<void> {
  const [databaseUrl, tenantId, file, format] = process.argv.slice(2);
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  let peakHeap = 0;
  let peakRss = 0;
  const sample = setInterval(() => {
    const usage = process.memoryUsage();
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakRss = Math.max(peakRss, usage.rss);
  }, 20);
  const out = createWriteStream(file);
  const client = await pool.connect();
  await client.query(
    `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT set_config('app.tenant_id', '${tenantId}', true)`,
  );
  const summary = await exportAuditEvents(client, out, {
    chain: tenantId,
    filter: {},
    format: format as 'jsonl' | 'csv',
  });
  await client.query('COMMIT');
  client.release();
  out.end();
  await finished(out);
  clearInterval(sample);
  await pool.end();
  process.stdout.write(
    JSON.stringify({
      rowCount: summary.rowCount,
      sha256: summary.sha256,
      peakHeapMb: Math.round(peakHeap / 2 ** 20),
      peakRssMb: Math.round(peakRss / 2 ** 20),
    }),
  );
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
