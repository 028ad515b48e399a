import { DataSource, Migration } from 'typeorm';

/** Arbitrary constant naming the advisory lock that serializes migration runs across processes. */
const MIGRATION_LOCK_KEY = 7_212_349_001;

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock (on a connection of its
 * own: the data source's pool needs at least two), so an api and a worker
 * starting together (or several replicas) never run the same migration twice.
 *
 * @returns the migrations applied by this call (empty when another process already did them).
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

/** Reverts every applied migration, newest first. Used by the migration test and `migration:revert --all`. */
export async function revertAllMigrations(dataSource: DataSource): Promise<number> {
  let reverted = 0;
  while (await appliedMigrationCount(dataSource)) {
    await dataSource.undoLastMigration({ transaction: 'each' });
    reverted += 1;
  }
  return reverted;
}

async function appliedMigrationCount(dataSource: DataSource): Promise<number> {
  const table = dataSource.options.migrationsTableName ?? 'migrations';
  const exists = await dataSource.query('SELECT to_regclass($1) AS t', [table]);
  if (!exists[0].t) return 0;
  const rows = await dataSource.query(`SELECT count(*)::int AS n FROM "${table}"`);
  return rows[0].n;
}

/**
 * Names of the migrations not yet applied, read without side effects (TypeORM's
 * `showMigrations` would create its table, which the app role may not and a probe should not).
 */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const table = dataSource.options.migrationsTableName ?? 'migrations';
  const known = migrationNames(dataSource);
  const [{ t }] = await dataSource.query('SELECT to_regclass($1) AS t', [table]);
  if (!t) return known;
  const applied = new Set(
    (await dataSource.query(`SELECT name FROM "${table}"`)).map(
      (row: { name: string }) => row.name,
    ),
  );
  return known.filter((name) => !applied.has(name));
}

/** Every migration's name, oldest first (by the timestamp that ends each name). */
export function migrationNames(dataSource: DataSource): string[] {
  const timestamp = (name: string) => Number(/(\d+)$/.exec(name)?.[1] ?? 0);
  return dataSource.migrations
    .map((migration) => migration.name ?? migration.constructor.name)
    .sort((a, b) => timestamp(a) - timestamp(b));
}
