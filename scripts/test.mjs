// `npm test`: make sure PostgreSQL and Redis answer (starting them if needed), then run every
// unit and e2e spec with Jest against them. Extra arguments go to Jest.
import { spawn } from 'node:child_process';
import { ensureServices } from './services.mjs';

const services = await ensureServices().catch((error) => {
  process.stderr.write(`[test] ${error.message}\n`);
  process.exit(1);
});
const child = spawn(process.execPath, ['node_modules/jest/bin/jest.js', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, ...services },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
