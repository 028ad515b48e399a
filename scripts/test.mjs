// `npm test`: make sure PostgreSQL and Redis answer (starting them if needed), then run every
// unit and e2e spec with Jest against them. Extra arguments go to Jest. Ends with one plain line
// `tests: N passed, N failed` for tools that read the closing line.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { ensureChromium, ensureServices } from './services.mjs';

const services = await ensureServices().catch((error) => {
  process.stderr.write(`[test] ${error.message}\n`);
  process.exit(1);
});
// The console's browser tests need Chromium. Without it the other suites still run, and the
// browser tests fail loudly (test/console/support/browser.ts), never pass silently.
let chromium = {};
try {
  chromium = { CHROMIUM_PATH: ensureChromium() };
} catch (error) {
  process.stderr.write(`[test] ${error.message} The console's browser tests will fail.\n`);
}
mkdirSync('.local', { recursive: true });
const results = '.local/jest-results.json';
rmSync(results, { force: true });
const child = spawn(
  process.execPath,
  ['node_modules/jest/bin/jest.js', '--json', `--outputFile=${results}`, ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, ...services, ...chromium } },
);
child.on('exit', (code, signal) => {
  try {
    const { numPassedTests, numFailedTests } = JSON.parse(readFileSync(results, 'utf8'));
    process.stdout.write(`\ntests: ${numPassedTests} passed, ${numFailedTests} failed\n`);
  } catch {
    // Jest ended before writing its results; its own output says why.
  }
  process.exit(code ?? (signal ? 1 : 0));
});
