import { dataSourceOptions, loadConfig, revertAllMigrations, runMigrationsLocked } from '@app/core';
import { dropDatabase, withDatabase, withMaintenanceClient } from '@app/testing';
import { DataSource } from 'typeorm';

describe('migrations', () => {
  const base = loadConfig(process.env);
  const name = `${process.env.CP_TEST_RUN}_migrations_${process.env.JEST_WORKER_ID}`;
  let dataSource: DataSource;

  beforeAll(async () => {
    await withMaintenanceClient(base.DATABASE_URL, async (client) => {
      await dropDatabase(client, name);
      await client.query(`CREATE DATABASE "${name}"`);
    });
    dataSource = await new DataSource(
      dataSourceOptions({ ...base, DATABASE_URL: withDatabase(base.DATABASE_URL, name) }),
    ).initialize();
  });

  afterAll(async () => {
    await dataSource.destroy();
    await withMaintenanceClient(base.DATABASE_URL, (client) => dropDatabase(client, name));
  });

  const userTables = async () =>
    (
      await dataSource.query<{ table_name: string }[]>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1`,
      )
    ).map((row) => row.table_name);

  it('apply to an empty database, revert completely, and apply again', async () => {
    expect(await userTables()).toEqual([]);
    const applied = await runMigrationsLocked(dataSource);
    expect(applied.length).toBeGreaterThan(0);
    expect(await userTables()).toContain('worker_heartbeats');
    expect(await dataSource.showMigrations()).toBe(false);

    expect(await revertAllMigrations(dataSource)).toBe(applied.length);
    expect(await userTables()).toEqual([]);

    expect((await runMigrationsLocked(dataSource)).length).toBe(applied.length);
    expect(await runMigrationsLocked(dataSource)).toEqual([]);
  });

  it('never run twice when two processes start at once', async () => {
    await revertAllMigrations(dataSource);
    const other = await new DataSource(
      dataSourceOptions({ ...base, DATABASE_URL: withDatabase(base.DATABASE_URL, name) }),
    ).initialize();
    try {
      const [a, b] = await Promise.all([
        runMigrationsLocked(dataSource),
        runMigrationsLocked(other),
      ]);
      expect(a.length + b.length).toBe(Math.max(a.length, b.length));
      expect(await dataSource.showMigrations()).toBe(false);
    } finally {
      await other.destroy();
    }
  });
});
