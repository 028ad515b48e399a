import { dropDatabase, withDatabase, withMaintenanceClient } from '@app/testing';
import { loadConfig } from '@app/core';
import { DataSource } from 'typeorm';
import { startApi } from '../support/api';

const api = (env: Record<string, string> = {}) =>
  startApi({
    env,
  });

describe('health probes', () => {
  it('is ready when PostgreSQL, Redis and the schema are', async () => {
    const t = await api();
    try {
      const res = await t.http.get('/health/ready').expect(200);
      expect(res.body.details).toEqual({
        postgres: { status: 'up' },
        redis: { status: 'up' },
        migrations: { status: 'up' },
      });
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming Redis when Redis is unreachable, and stays live', async () => {
    const t = await api({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      await t.http.get('/health/live').expect(200, { status: 'ok' });
      const res = await t.http.get('/health/ready').expect(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        code: 'not_ready',
        status: 503,
        detail: 'Not ready: redis failed its check.',
      });
      expect(res.body.checks.redis.status).toBe('down');
      expect(res.body.checks.postgres.status).toBe('up');
    } finally {
      await t.close();
    }
  });

  it('answers 503 naming migrations when the schema is behind', async () => {
    const base = loadConfig(process.env).DATABASE_URL;
    const name = `${process.env.CP_TEST_RUN}_empty_${process.env.JEST_WORKER_ID}`;
    const t = await api({ DATABASE_URL: withDatabase(base, name), MIGRATIONS_RUN: 'false' });
    try {
      const res = await t.http.get('/health/ready').expect(503);
      expect(res.body.detail).toBe('Not ready: migrations failed its check.');
      // The probe only reads: it must not create TypeORM's migrations table.
      const [{ table }] = await t.app
        .get(DataSource)
        .query(`SELECT to_regclass('migrations') AS table`);
      expect(table).toBeNull();
    } finally {
      await t.close();
      await withMaintenanceClient(base, (client) => dropDatabase(client, name));
    }
  });
});
