import { loadConfig } from '@app/core';
import { createTenant, TestApp, writeAuditChain } from '@app/testing';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { startApi } from '../support/api';

const run = promisify(execFile);
const EVENTS = 1_000_000;

describe('audit export at scale', () => {
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    t = await startApi();
    dir = await mkdtemp(join(tmpdir(), 'cp-audit-scale-'));
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'exports 1,000,000 events in a process capped at 256 MB of heap',
    async () => {
      const tenant = await createTenant(t);
      const databaseUrl = loadConfig(process.env).DATABASE_URL;
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await writeAuditChain(client, tenant.id, EVENTS);
      } finally {
        await client.end();
      }
      const file = join(dir, 'export.jsonl');
      const { stdout } = await run(
        process.execPath,
        [
          '--max-old-space-size=256',
          '-r',
          'ts-node/register/transpile-only',
          'test/audit/support/export-child.ts',
          databaseUrl,
          tenant.id,
          file,
          'jsonl',
        ],
        { cwd: process.cwd(), maxBuffer: 1 << 20 },
      );
      const result = JSON.parse(stdout) as { rowCount: number; sha256: string; peakHeapMb: number };
      expect(result.rowCount).toBe(EVENTS);
      expect(result.peakHeapMb).toBeLessThan(256);
      let lines = 0;
      const digest = createHash('sha256');
      for await (const chunk of createReadStream(file)) {
        digest.update(chunk as Buffer);
        for (const byte of chunk as Buffer) if (byte === 10) lines += 1;
      }
      expect(lines).toBe(EVENTS);
      expect(digest.digest('hex')).toBe(result.sha256);
      // The chain itself verifies through the API's streaming verifier.
      const verified = await t.http
        .get(`/v1/tenants/${tenant.id}/audit/verify`)
        .set({ Authorization: `Bearer ${process.env.BOOTSTRAP_ADMIN_TOKEN}` })
        .expect(200);
      expect(verified.body).toMatchObject({ ok: true, checked: EVENTS });
    },
    10 * 60_000,
  );
});
