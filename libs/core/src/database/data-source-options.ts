import { join } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { SnakeNamingStrategy } from 'typeorm-naming-strategies';
import type { AppConfig } from '../config/config.schema';

/** `migrations/` at the repository root, from source (ts) or from `dist/` (js). */
export const MIGRATIONS_GLOB = join(__dirname, '..', '..', '..', '..', 'migrations', '*.{ts,js}');

/**
 * The role the apps act as (`SET ROLE` at connection start). It owns no table and cannot bypass
 * row-level security, so PostgreSQL enforces tenant isolation on every query the apps make.
 * Migrations run as the login role (the tables' owner). Created by the AppRole migration.
 */
export const APP_DB_ROLE = 'cp_app';

/**
 * The one set of TypeORM options used by the apps (`asAppRole`), the migration CLI and the test
 * harness (as the owner).
 * `synchronize` is never on: the schema changes only through migrations.
 * Entities register themselves per module through `TypeOrmModule.forFeature` (autoLoadEntities).
 */
export function dataSourceOptions(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DATABASE_POOL_SIZE'>,
  applicationName = 'control-plane',
  { asAppRole = false }: { asAppRole?: boolean } = {},
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
    extra: {
      max: config.DATABASE_POOL_SIZE,
      // Waiting for a pooled connection fails after 10 s instead of hanging the request forever.
      connectionTimeoutMillis: 10_000,
      // A transaction left idle (a stuck client) is ended by the server after 60 s.
      options: [
        asAppRole ? `-c role=${APP_DB_ROLE}` : '',
        '-c idle_in_transaction_session_timeout=60000',
      ]
        .filter(Boolean)
        .join(' '),
    },
    logging: false,
  };
}
