import { join } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { SnakeNamingStrategy } from 'typeorm-naming-strategies';
import type { AppConfig } from '../config/config.schema';

/** `migrations/` at the repository root, from source (ts) or from `dist/` (js). */
export const MIGRATIONS_GLOB = join(__dirname, '..', '..', '..', '..', 'migrations', '*.{ts,js}');

/**
 * The one set of TypeORM options used by the apps, the migration CLI and the test harness.
 * `synchronize` is never on: the schema changes only through migrations.
 * Entities register themselves per module through `TypeOrmModule.forFeature` (autoLoadEntities).
 */
export function dataSourceOptions(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DATABASE_POOL_SIZE'>,
  applicationName = 'control-plane',
): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.DATABASE_URL,
    synchronize: false,
    migrationsRun: false,
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    namingStrategy: new SnakeNamingStrategy(),
    applicationName,
    extra: { max: config.DATABASE_POOL_SIZE },
    logging: false,
  };
}
