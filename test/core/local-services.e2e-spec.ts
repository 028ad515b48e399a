import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

const ROOT = join(__dirname, '..', '..');

function services(args: string[], env: Record<string, string>): string {
  return execFileSync(process.execPath, ['scripts/services.mjs', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

describe('local services (scripts/services.mjs)', () => {
  it('leaves answering services alone and says where they are', () => {
    const out = services([], {});
    expect(out).toContain(`DATABASE_URL=${process.env.DATABASE_URL}`);
    expect(out).toMatch(/^REDIS_URL=redis:\/\//m);
  });

  it('starts private PostgreSQL and Redis instances when the configured ones do not answer', async () => {
    const local = mkdtempSync(join(tmpdir(), 'cp-services-'));
    const env = {
      CP_LOCAL_DIR: local,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/controlplane',
      REDIS_URL: 'redis://127.0.0.1:1',
    };
    try {
      const out = services([], env);
      const databaseUrl = /^DATABASE_URL=(.+)$/m.exec(out)![1];
      const redisUrl = /^REDIS_URL=(.+)$/m.exec(out)![1];
      expect(databaseUrl).not.toContain(':1/');
      const pg = new Client({
        connectionString: databaseUrl.replace('/controlplane', '/postgres'),
      });
      await pg.connect();
      expect((await pg.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await pg.end();
      const redis = new Redis(redisUrl);
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
      redis.disconnect();
      // Second run: quick and idempotent, same instances.
      expect(services([], env)).toBe(out);
    } finally {
      services(['--stop'], { CP_LOCAL_DIR: local });
      rmSync(local, { recursive: true, force: true });
    }
  });
});
