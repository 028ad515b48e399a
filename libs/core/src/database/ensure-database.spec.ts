import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { loadConfig } from '../config/config.schema';
import {
  checkAppLogin,
  DatabaseUnavailableError,
  ensureDatabase,
  quoteIdentifier,
} from './ensure-database';

const base = () => loadConfig(process.env).DATABASE_URL;
const withName = (name: string, url = base()) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

describe('ensureDatabase', () => {
  it('creates a missing database once when many processes race for it', async () => {
    const name = `${process.env.CP_TEST_RUN}_race_${randomUUID().slice(0, 8)}`;
    try {
      await Promise.all(Array.from({ length: 6 }, () => ensureDatabase(withName(name))));
      const client = new Client({ connectionString: withName(name) });
      await client.connect();
      await client.end();
    } finally {
      const admin = new Client({ connectionString: withName('postgres') });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('is a no-op for an existing database', async () => {
    await expect(ensureDatabase(base())).resolves.toBeUndefined();
  });

  it('says in one line, without the password, why it cannot reach the server', async () => {
    const error = await ensureDatabase('postgres://admin:hunter2@127.0.0.1:1/x').catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(
      /^PostgreSQL at DATABASE_URL \(127\.0\.0\.1:1\/x as admin\): /,
    );
    expect((error as Error).message).not.toContain('hunter2');
    expect((error as Error).message).not.toContain('\n');
  });

  it('names DATABASE_APP_URL when the app login cannot act as the app role', async () => {
    const url = new URL(base());
    url.username = 'no_such_login_role';
    const error = await checkAppLogin(url.toString(), 'cp_app').catch((e: Error) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(
      /^PostgreSQL at DATABASE_APP_URL \(.* as no_such_login_role\): /,
    );
  });

  it('refuses a URL without a database name', async () => {
    await expect(ensureDatabase('postgres://postgres@127.0.0.1:5432')).rejects.toThrow(
      'DATABASE_URL names no database',
    );
  });
});
