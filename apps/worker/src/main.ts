import './instrument';
import {
  APP_DB_ROLE,
  checkAppLogin,
  configureHttpApp,
  ensureDatabase,
  evictionPolicyProblem,
  installGracefulShutdown,
  loadConfigOrExit,
  readEvictionPolicy,
  stopTelemetry,
} from '@app/core';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import Redis from 'ioredis';
import { WORKER_HTTP_OPTIONS, WorkerModule } from './worker.module';

/** Refuses to run BullMQ against a Redis that may evict job keys (unless REDIS_ALLOW_EVICTION). */
async function checkRedisEvictionPolicy(redisUrl: string, allowEviction: boolean): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
  });
  redis.on('error', () => undefined);
  let policy: string | undefined;
  try {
    await redis.connect();
    policy = await readEvictionPolicy(redis);
  } catch (error) {
    process.stderr.write(`worker cannot reach Redis at REDIS_URL: ${(error as Error).message}\n`);
    process.exit(1);
  } finally {
    redis.disconnect();
  }
  const problem = evictionPolicyProblem(policy, allowEviction);
  if (problem) {
    process.stderr.write(`worker refuses to start: ${problem}\n`);
    process.exit(1);
  }
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  // Pre-flight, before Nest logs anything: one clear line when PostgreSQL is not usable.
  const preflight = async () => {
    await ensureDatabase(config.DATABASE_URL);
    if (config.DATABASE_APP_URL) await checkAppLogin(config.DATABASE_APP_URL, APP_DB_ROLE);
  };
  await preflight().catch((error: Error) => {
    process.stderr.write(`worker cannot start: ${error.message}\n`);
    process.exit(1);
  });
  await checkRedisEvictionPolicy(config.REDIS_URL, config.REDIS_ALLOW_EVICTION);
  const app = await NestFactory.create<NestExpressApplication>(WorkerModule.register(config), {
    bodyParser: false,
    bufferLogs: true,
    // Let start-up errors reach the catch below (one line) instead of Nest's abort.
    abortOnError: false,
  });
  configureHttpApp(app, config, WORKER_HTTP_OPTIONS);
  installGracefulShutdown(app, config.SHUTDOWN_TIMEOUT_MS, stopTelemetry);
  await app.listen(config.WORKER_PORT, '0.0.0.0');
  process.stdout.write(
    `control-plane worker running; health at http://localhost:${config.WORKER_PORT}/health/ready\n`,
  );
}

void bootstrap().catch((error: Error) => {
  process.stderr.write(`worker failed to start: ${error.message}\n`);
  process.exit(1);
});
