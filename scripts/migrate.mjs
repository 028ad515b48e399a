// `npm run migration:run | migration:revert [-- --all] | migration:show` against DATABASE_URL
// (or the private PostgreSQL `npm start` brought up). Runs the TypeScript CLI through ts-node, so
// no build is needed; in a container, run `node dist/libs/core/src/database/migrate.cli.js run`.
import { spawn } from 'node:child_process';
import { ensureServices } from './services.mjs';

const services = await ensureServices().catch((error) => {
  process.stderr.write(`[migrate] ${error.message}\n`);
  process.exit(1);
});
const child = spawn(
  process.execPath,
  [
    '-r',
    'ts-node/register/transpile-only',
    '-r',
    'tsconfig-paths/register',
    'libs/core/src/database/migrate.cli.ts',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', env: { ...process.env, ...services } },
);
child.on('exit', (code) => process.exit(code ?? 1));
