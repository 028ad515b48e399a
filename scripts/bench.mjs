// `npm run bench [-- name]`: runs bench/*.bench.ts (or those whose name contains the argument)
// one after another, each printing ratios to its own baseline. Benches use a database of their
// own (`<database>_bench`, made anew each run) so they never touch the product's data.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import Redis from 'ioredis';
import pg from 'pg';
import { ensureServices } from './services.mjs';

const services = await ensureServices();
const url = new URL(services.DATABASE_URL);
const benchDatabase = `${url.pathname.slice(1) || 'controlplane'}_bench`;
const maintenance = new URL(services.DATABASE_URL);
maintenance.pathname = '/postgres';
const client = new pg.Client({ connectionString: maintenance.toString() });
await client.connect();
await client.query(`DROP DATABASE IF EXISTS "${benchDatabase}" WITH (FORCE)`);
await client.end();
url.pathname = `/${benchDatabase}`;

/** Deletes the benches' Redis keys (prefix `cpbench:`): reservations, counters, queues. */
async function clearBenchKeys() {
  const redis = new Redis(services.REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'cpbench:*', 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}
await clearBenchKeys();

const filter = process.argv[2] ?? '';
const benches = readdirSync('bench').filter((f) => f.endsWith('.bench.ts') && f.includes(filter));
for (const file of benches) {
  console.log(`\n== bench/${file}`);
  const result = spawnSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', `bench/${file}`],
    {
      stdio: 'inherit',
      env: {
        ...process.env,
        ...services,
        DATABASE_URL: url.toString(),
        REDIS_KEY_PREFIX: 'cpbench',
        LOG_LEVEL: 'warn',
        API_KEY_ENVIRONMENT: 'bench',
        BOOTSTRAP_ADMIN_TOKEN: 'cp_bench_bootstrap_admin_token_for_benchmarks_only',
      },
    },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}
await clearBenchKeys();
