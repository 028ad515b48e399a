import { Client } from 'pg';

/** PostgreSQL SQLSTATEs that mean "someone else created it first". */
const ALREADY_CREATED = new Set(['42P04', '23505']);

/**
 * Creates the database named in `databaseUrl` when it does not exist yet. It first connects to
 * that database; only when the server answers "does not exist" (3D000) does it connect to the
 * `postgres` maintenance database to create it, so managed servers that forbid `postgres` work
 * when the database already exists. A concurrent creator winning the race (duplicate_database,
 * or unique_violation on pg_database) is not an error.
 *
 * @throws DatabaseUnavailableError with a one-line reason when the server cannot be reached, the
 *   credentials are refused, or the role may not create the database. Never includes the password.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  try {
    await withClient(databaseUrl, async () => undefined);
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw unavailable(databaseUrl, error);
  }
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = '/postgres';
  try {
    await withClient(maintenance.toString(), (client) =>
      client.query(`CREATE DATABASE ${quoteIdentifier(name)}`),
    );
  } catch (error) {
    if (!ALREADY_CREATED.has((error as { code?: string }).code ?? ''))
      throw unavailable(databaseUrl, error);
  }
}

/**
 * Checks that the apps' own login (`DATABASE_APP_URL`) can connect and act as `role`.
 *
 * @throws DatabaseUnavailableError naming DATABASE_APP_URL, in one line without the password.
 */
export async function checkAppLogin(appUrl: string, role: string): Promise<void> {
  try {
    await withClient(appUrl, (client) => client.query(`SET ROLE ${quoteIdentifier(role)}`));
  } catch (error) {
    throw unavailable(appUrl, error, 'DATABASE_APP_URL');
  }
}

/** A PostgreSQL problem at start, described in one line without credentials. */
export class DatabaseUnavailableError extends Error {}

function databaseName(databaseUrl: string): string {
  let name: string;
  try {
    name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  } catch {
    throw new DatabaseUnavailableError(
      'DATABASE_URL is not a valid URL (is a % in the password not encoded as %25?)',
    );
  }
  if (!name)
    throw new DatabaseUnavailableError(
      'DATABASE_URL names no database (add /<name> after the host)',
    );
  return name;
}

function unavailable(
  databaseUrl: string,
  error: unknown,
  variable = 'DATABASE_URL',
): DatabaseUnavailableError {
  const url = new URL(databaseUrl);
  const where = `${url.hostname}:${url.port || 5432}/${databaseName(databaseUrl)} as ${decodeURIComponent(url.username) || '(default user)'}`;
  const message = (error as Error).message;
  const reason = url.password ? message.replaceAll(url.password, '***') : message;
  return new DatabaseUnavailableError(`PostgreSQL at ${variable} (${where}): ${reason}`);
}

async function withClient<T>(
  connectionString: string,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({ connectionString, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Quotes a PostgreSQL identifier (doubling embedded quotes). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
