import { Client } from 'pg';

/**
 * Creates the database named in `databaseUrl` when it does not exist yet, connecting to the
 * server's `postgres` maintenance database to do it. A concurrent creator winning the race is
 * not an error.
 *
 * @throws the driver's error when the server cannot be reached or the role may not create databases.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = '/postgres';
  const client = new Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    } catch (error) {
      // 42P04 duplicate_database: another process created it between our check and our create.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
  } finally {
    await client.end();
  }
}

/** Quotes a PostgreSQL identifier (doubling embedded quotes). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
