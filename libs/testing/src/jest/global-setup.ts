import 'tsconfig-paths/register';
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@app/core/database/data-source-options';
import { runMigrationsLocked } from '@app/core/database/migrations';
import { loadConfig } from '@app/core/config/config.schema';
import { quoteIdentifier } from '@app/core/database/ensure-database';
import {
  dropDatabase,
  TEST_DATABASE_PREFIX,
  withDatabase,
  withMaintenanceClient,
} from '../test-database';

interface JestGlobalConfig {
  maxWorkers: number;
}

/**
 * Once per `jest` run: migrate a template database, then clone one database per worker from it
 * (`CREATE DATABASE ... TEMPLATE`, a file copy, far faster than migrating each). Workers find
 * theirs through `CP_TEST_RUN`. Databases left by runs whose process is gone are dropped.
 */
export default async function globalSetup(globalConfig: JestGlobalConfig): Promise<void> {
  const config = loadConfig(process.env);
  // Host tag + pid: leftovers are dropped only when they are this host's and their run is dead,
  // so runs on other machines sharing the server are never touched.
  const hostTag = createHash('sha1').update(hostname()).digest('hex').slice(0, 6);
  const run = `${TEST_DATABASE_PREFIX}${hostTag}_${process.pid}`;
  const template = `${run}_template`;
  await withMaintenanceClient(config.DATABASE_URL, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE '${TEST_DATABASE_PREFIX}%'`,
    );
    for (const { datname } of rows) {
      const match = /^cp_test_([0-9a-f]{6})_(\d+)_/.exec(datname);
      if (match && match[1] === hostTag && !isAlive(Number(match[2])))
        await dropDatabase(client, datname);
    }
    await dropDatabase(client, template);
    await client.query(`CREATE DATABASE ${quoteIdentifier(template)}`);
  });
  const dataSource = await new DataSource(
    dataSourceOptions(
      { ...config, DATABASE_URL: withDatabase(config.DATABASE_URL, template) },
      'jest-global-setup',
    ),
  ).initialize();
  await runMigrationsLocked(dataSource);
  await dataSource.destroy();
  await withMaintenanceClient(config.DATABASE_URL, async (client) => {
    for (let worker = 1; worker <= Math.max(1, globalConfig.maxWorkers); worker += 1) {
      await dropDatabase(client, `${run}_w${worker}`);
      await client.query(
        `CREATE DATABASE ${quoteIdentifier(`${run}_w${worker}`)} TEMPLATE ${quoteIdentifier(template)}`,
      );
    }
  });
  process.env.CP_TEST_RUN = run;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
