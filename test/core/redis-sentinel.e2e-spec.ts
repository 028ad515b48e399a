import { RedisConnectionFactory } from '@app/core';
import { expectEventually, freePort, hasRedisServer, TestApp } from '@app/testing';
import Redis from 'ioredis';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../support/api';

jest.setTimeout(120_000);

const MASTER = 'cp-test';

/** `redis-server` with `args`, once it answers PING on `port`. */
async function redisServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  await expectEventually(
    async () => {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        expect(await probe.ping()).toBe('PONG');
      } finally {
        probe.disconnect();
      }
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  return child;
}

const local = (port: number) => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });

/**
 * Redis behind Sentinel (REDIS_SENTINELS): a primary, a replica and a Sentinel of this test's
 * own (real `redis-server` processes), the api reaching Redis only through the Sentinel (its
 * REDIS_URL names a port nothing listens on), and a failover the apps follow.
 */
(hasRedisServer() ? describe : describe.skip)('Redis through Sentinel', () => {
  const processes: ChildProcess[] = [];
  const clients: Redis[] = [];
  let dir: string;
  let primaryPort: number;
  let replicaPort: number;
  let sentinel: Redis;
  let api: TestApp;

  beforeAll(async () => {
    [primaryPort, replicaPort] = [await freePort(), await freePort()];
    const sentinelPort = await freePort();
    const plain = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    processes.push(await redisServer(primaryPort, ['--port', String(primaryPort), ...plain]));
    processes.push(
      await redisServer(replicaPort, [
        '--port',
        String(replicaPort),
        ...plain,
        '--replicaof',
        '127.0.0.1',
        String(primaryPort),
      ]),
    );
    // Sentinel rewrites its configuration file: one of its own.
    dir = await mkdtemp(join(tmpdir(), 'sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `sentinel monitor ${MASTER} 127.0.0.1 ${primaryPort} 1`,
        `sentinel down-after-milliseconds ${MASTER} 1000`,
        `sentinel failover-timeout ${MASTER} 10000`,
        '',
      ].join('\n'),
    );
    processes.push(await redisServer(sentinelPort, [conf, '--sentinel']));
    sentinel = new Redis(sentinelPort, '127.0.0.1');
    clients.push(sentinel);
    api = await startApi({
      env: {
        // Not used for the address: only the Sentinel knows where the primary is.
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
        REDIS_SENTINEL_NAME: MASTER,
      },
    });
  });
  afterAll(async () => {
    await api?.close();
    clients.forEach((client) => client.disconnect());
    for (const child of processes) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('reaches the primary the Sentinel names, and the new one after a failover', async () => {
    await api.http.get('/health/ready').expect(200);
    const app = api.app.get(RedisConnectionFactory).create('client', 'sentinel-test');
    // A client connection fails commands until it is ready (no offline queue).
    await new Promise((resolve) => app.once('ready', resolve));
    const [primary, replica] = [local(primaryPort), local(replicaPort)];
    clients.push(primary, replica);
    await app.set('cp-sentinel-test:before', 'written');
    expect(await primary.get('cp-sentinel-test:before')).toBe('written');

    // The Sentinel has seen the replica in sync; then it promotes it.
    await expectEventually(
      async () => {
        const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', MASTER)) as string[][];
        const fields = Object.fromEntries(
          (replicas[0] ?? []).flatMap((_, i, all) => (i % 2 ? [] : [[all[i], all[i + 1]]])),
        );
        expect(fields['master-link-status']).toBe('ok');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await sentinel.call('SENTINEL', 'FAILOVER', MASTER);
    await expectEventually(
      async () =>
        expect(await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)).toEqual([
          '127.0.0.1',
          String(replicaPort),
        ]),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // The app's connection follows: its writes land on the promoted replica.
    await expectEventually(
      async () => {
        await app.set('cp-sentinel-test:after', 'written');
        expect(await replica.get('cp-sentinel-test:after')).toBe('written');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await expectEventually(() => api.http.get('/health/ready').expect(200), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });
});
