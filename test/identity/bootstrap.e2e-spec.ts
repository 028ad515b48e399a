import { BootstrapService } from '@app/identity';
import { loadConfig } from '@app/core';
import { bearer, dropDatabase, withDatabase, withMaintenanceClient } from '@app/testing';
import { startApi } from '../support/api';

describe('platform admin bootstrap', () => {
  const base = loadConfig(process.env).DATABASE_URL;
  const name = `${process.env.CP_TEST_RUN}_bootstrap_${process.env.JEST_WORKER_ID}`;

  afterAll(() => withMaintenanceClient(base, (client) => dropDatabase(client, name)));

  it('prints a generated admin key once on an empty platform, and makes one key when starts race', async () => {
    const printed: string[] = [];
    const spy = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        printed.push(String(chunk));
        return true;
      });
    let t;
    try {
      t = await startApi({
        env: { DATABASE_URL: withDatabase(base, name), BOOTSTRAP_ADMIN_TOKEN: '' },
      });
    } finally {
      spy.mockRestore();
    }
    try {
      const key = /(cp_test_[A-Za-z0-9_-]{43})/.exec(printed.join(''))?.[1];
      expect(key).toBeDefined();
      const me = await t.http.get('/v1/me').set(bearer(key!)).expect(200);
      expect(me.body).toMatchObject({ tenantId: null, roles: ['platform_admin'] });

      // While an admin exists, nothing more is created.
      const bootstrap = t.app.get(BootstrapService);
      expect(await bootstrap.ensurePlatformAdmin()).toBeUndefined();

      // Without one (the key revoked), replicas racing create exactly one new key.
      await t.http
        .post(`/v1/platform/api-keys/${me.body.actor.id}/revoke`)
        .set(bearer(key!))
        .expect(200);
      await t.http.get('/v1/me').set(bearer(key!)).expect(401);
      const results = await Promise.all([1, 2, 3, 4].map(() => bootstrap.ensurePlatformAdmin()));
      const created = results.filter(Boolean);
      expect(created).toHaveLength(1);
      await t.http.get('/v1/me').set(bearer(created[0]!)).expect(200);
    } finally {
      await t?.close();
    }
  });
});
