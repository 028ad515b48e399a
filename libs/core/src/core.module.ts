import { DynamicModule, Module } from '@nestjs/common';
import type { DestinationStream } from 'pino';
import { ConfigModule } from './config/config.module';
import type { AppConfig } from './config/config.schema';
import { RequestContextModule } from './context/request-context.module';
import { DatabaseModule } from './database/database.module';
import { ProblemsController } from './errors/problems.controller';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './logging/logging.module';
import { RedisModule } from './redis/redis.module';
import { MetricsModule } from './telemetry/metrics.module';

export interface CoreModuleOptions {
  /** Service name in logs (`api`, `worker`, ...). */
  service: string;
  /** Where log lines go; stdout when unset. Tests pass a capturing stream. */
  logDestination?: DestinationStream;
}

/**
 * The cross-cutting foundation every app imports first: validated config, logging, request
 * context, PostgreSQL, Redis, metrics, health and the problem-type pages.
 */
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig, options: CoreModuleOptions): DynamicModule {
    return {
      module: CoreModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config, options.service, options.logDestination),
        RequestContextModule,
        DatabaseModule,
        RedisModule,
        MetricsModule,
        HealthModule,
      ],
      controllers: [ProblemsController],
    };
  }
}
