import 'tsconfig-paths/register';
import { loadConfig } from '@app/core/config/config.schema';
import Redis from 'ioredis';
import { dropDatabase, withMaintenanceClient } from '../test-database';

/** Drops this run's databases and Redis keys (databases kept when CP_TEST_KEEP_DATABASES=true). */
export default async function globalTeardown(): Promise<void> {
  const run = process.env.CP_TEST_RUN;
  if (!run || process.env.CP_TEST_KEEP_DATABASES === 'true') return;
  const config = loadConfig(process.env);
  await withMaintenanceClient(config.DATABASE_URL, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${run}\\_%`],
    );
    for (const { datname } of rows) await dropDatabase(client, datname);
  });
  await deleteRedisKeys(config.REDIS_URL, `cptest:${run.slice('cp_test_'.length)}:*`);
}

/** Removes every key the run's workers wrote under their prefixes. */
async function deleteRedisKeys(redisUrl: string, pattern: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
