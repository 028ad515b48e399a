import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { RedisConnectionFactory, RedisConnectionRole } from '../redis/redis-connection.factory';
import { RepeatableJobs } from './repeatable-jobs';

/**
 * BullMQ for an app, on one ioredis connection from the shared factory (BullMQ duplicates it for
 * a worker's blocking reads). Producers (`api`, `gateway`) use role `queue`, which fails fast
 * while Redis is down; the `worker` app uses role `worker`, which waits for Redis to come back.
 * Keys live under `REDIS_KEY_PREFIX`. Repeatable jobs are registered through
 * {@link RepeatableJobs}, which restores them after Redis loses its data.
 */
@Module({})
export class QueueModule {
  static forRoot(role: Extract<RedisConnectionRole, 'queue' | 'worker'>): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [RedisConnectionFactory, APP_CONFIG],
          useFactory: (redis: RedisConnectionFactory, config: AppConfig) => ({
            connection: redis.create(role, `bullmq-${role}`),
            prefix: config.REDIS_KEY_PREFIX,
          }),
        }),
      ],
      providers: [RepeatableJobs],
      exports: [BullModule, RepeatableJobs],
    };
  }
}
