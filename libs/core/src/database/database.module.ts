import { Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { dataSourceOptions } from './data-source-options';
import { ensureDatabase } from './ensure-database';
import { runMigrationsLocked } from './migrations';

const logger = new Logger('Database');

/**
 * Opens the app's data source: creates the database if missing, then, unless
 * `MIGRATIONS_RUN=false`, applies pending migrations under an advisory lock before any module
 * can use the connection.
 */
async function openDataSource(options: DataSourceOptions, config: AppConfig): Promise<DataSource> {
  await ensureDatabase(config.DATABASE_URL);
  if (config.MIGRATIONS_RUN) {
    // Migrations run as the login role (the owner); the app's own pool then acts as APP_DB_ROLE.
    const owner = await new DataSource(
      dataSourceOptions({ ...config, DATABASE_POOL_SIZE: 2 }, 'migrations'),
    ).initialize();
    try {
      const applied = await runMigrationsLocked(owner);
      if (applied.length)
        logger.log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
    } finally {
      await owner.destroy();
    }
  }
  return new DataSource(options).initialize();
}

/** The TypeORM connection shared by every library of an app (entities via `forFeature`). */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(
          { ...config, DATABASE_URL: config.DATABASE_APP_URL ?? config.DATABASE_URL },
          'control-plane',
          { asAppRole: true },
        ),
        autoLoadEntities: true,
        retryAttempts: 0,
        // Not a TypeORM option: carried to dataSourceFactory, which has no injection of its own.
        appConfig: config,
      }),
      dataSourceFactory: async (options) => {
        const { appConfig, ...rest } = options as DataSourceOptions & { appConfig: AppConfig };
        return openDataSource(rest as DataSourceOptions, appConfig);
      },
    }),
  ],
})
export class DatabaseModule {}
