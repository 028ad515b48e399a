import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expectEventually, freePort } from '@app/testing';

const ROOT = join(__dirname, '..', '..');

describe('graceful shutdown', () => {
  it('drains and exits 0 on SIGTERM, closing the HTTP server before the pools', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        'apps/api/src/main.ts',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port), LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    try {
      await expectEventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
          expect(res.status).toBe(200);
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const started = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      // Lines come from two writers (pino, then Nest's console logger once the app is closed), so
      // their order in the output proves nothing; the elapsed times they report do.
      expect(output).toContain('SIGTERM received: draining');
      const httpClosedAt = Number(/HTTP server closed after (\d+) ms/.exec(output)?.[1]);
      const appClosedAt = Number(/app closed after (\d+) ms/.exec(output)?.[1]);
      expect(httpClosedAt).toBeLessThanOrEqual(appClosedAt);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
