import './instrument';
import {
  AppConfig,
  bootHttpApp,
  evictionPolicyProblem,
  readEvictionPolicy,
  redisSentinelOptions,
} from '@app/core';
import Redis from 'ioredis';
import { WORKER_HTTP_OPTIONS, WorkerModule } from './worker.module';

/** Refuses to run BullMQ against a Redis that may evict job keys (unless REDIS_ALLOW_EVICTION). */
async function checkRedisEvictionPolicy(config: AppConfig): Promise<void> {
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    ...redisSentinelOptions(config),
  });
  redis.on('error', () => undefined);
  let policy: string | undefined;
  try {
    await redis.connect();
    policy = await readEvictionPolicy(redis);
  } catch (error) {
    const where = config.REDIS_SENTINELS ? 'through REDIS_SENTINELS' : 'at REDIS_URL';
    process.stderr.write(`worker cannot reach Redis ${where}: ${(error as Error).message}\n`);
    process.exit(1);
  } finally {
    redis.disconnect();
  }
  const problem = evictionPolicyProblem(policy, config.REDIS_ALLOW_EVICTION);
  if (problem) {
    process.stderr.write(`worker refuses to start: ${problem}\n`);
    process.exit(1);
  }
}

bootHttpApp({
  name: 'worker',
  module: (config) => WorkerModule.register(config),
  http: WORKER_HTTP_OPTIONS,
  port: (config) => config.WORKER_PORT,
  banner: (config) =>
    `control-plane worker running; health at http://localhost:${config.WORKER_PORT}/health/ready`,
  preflight: checkRedisEvictionPolicy,
});
