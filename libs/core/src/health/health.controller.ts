import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Public } from '../http/public.decorator';
import { RedisConnectionFactory } from '../redis/redis-connection.factory';
import { pendingMigrations } from '../database/migrations';
import { NOT_READY_SCHEMA } from './health.openapi';

/** How long each readiness check may take, in milliseconds. */
const CHECK_TIMEOUT_MS = 1_500;

/**
 * Kubernetes-style probes. `live` says the process runs (never touches dependencies, so a
 * PostgreSQL or Redis outage does not get pods killed); `ready` says it can serve: PostgreSQL
 * answers, Redis answers, and no migration is pending. A failing check answers 503 problem+json
 * naming it.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly redis: Redis;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    @InjectDataSource() private readonly dataSource: DataSource,
    redisFactory: RedisConnectionFactory,
  ) {
    this.redis = redisFactory.create('client', 'health', { lazyConnect: true });
  }

  @Get('live')
  @ApiOkResponse({ description: 'The process is running.' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOkResponse({
    description: 'PostgreSQL and Redis answer and the schema is current.',
    schema: {
      example: {
        status: 'ok',
        details: {
          postgres: { status: 'up' },
          redis: { status: 'up' },
          migrations: { status: 'up' },
        },
      },
    },
  })
  @ApiServiceUnavailableResponse({
    description: 'problem+json `not_ready` naming the failing checks.',
    content: { 'application/problem+json': { schema: NOT_READY_SCHEMA } },
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () =>
        this.database.pingCheck('postgres', {
          connection: this.dataSource,
          timeout: CHECK_TIMEOUT_MS,
        }),
      () => this.checkRedis(),
      () => this.checkMigrations(),
    ]);
  }

  private async checkRedis() {
    const indicator = this.indicators.check('redis');
    try {
      if (this.redis.status === 'wait') await this.redis.connect().catch(() => undefined);
      await withTimeout(this.redis.ping(), CHECK_TIMEOUT_MS);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }

  private async checkMigrations() {
    const indicator = this.indicators.check('migrations');
    try {
      const pending = await withTimeout(pendingMigrations(this.dataSource), CHECK_TIMEOUT_MS);
      return pending.length
        ? indicator.down({
            message: `${pending.length} pending migrations; run npm run migration:run`,
          })
        : indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
