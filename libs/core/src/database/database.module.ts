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
async function openDataSource(options: DataSourceOptions): Promise<DataSource> {
  const { url } = options as { url: string };
  await ensureDatabase(url);
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
  if (options.migrationsRun) {
    const applied = await runMigrationsLocked(dataSource);
    if (applied.length) logger.log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
  }
  return dataSource;
}

/** The TypeORM connection shared by every library of an app (entities via `forFeature`). */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config),
        migrationsRun: config.MIGRATIONS_RUN,
        autoLoadEntities: true,
        retryAttempts: 0,
      }),
      dataSourceFactory: async (options) => openDataSource(options!),
    }),
  ],
})
export class DatabaseModule {}
