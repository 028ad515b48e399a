import { Client } from 'pg';
import { quoteIdentifier } from '@app/core/database/ensure-database';

/** The server URL with another database name in its path. */
export function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `fn` with a client on the server's `postgres` maintenance database. */
export async function withMaintenanceClient<T>(
  databaseUrl: string,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({ connectionString: withDatabase(databaseUrl, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(client: Client, name: string): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
}

/** Prefix of every database the test harness creates: `cp_test_<host tag>_<pid of the jest run>_...`. */
export const TEST_DATABASE_PREFIX = 'cp_test_';
