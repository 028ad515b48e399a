// `npm run bench [-- name]`: runs bench/*.bench.ts (or those whose name contains the argument)
// one after another against the local services, each printing ratios to its own baseline.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { ensureServices } from './services.mjs';

const services = await ensureServices();
const filter = process.argv[2] ?? '';
const benches = readdirSync('bench').filter((f) => f.endsWith('.bench.ts') && f.includes(filter));
for (const file of benches) {
  console.log(`\n== bench/${file}`);
  const result = spawnSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', `bench/${file}`],
    { stdio: 'inherit', env: { ...process.env, ...services, LOG_LEVEL: 'warn' } },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}
