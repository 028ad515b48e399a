import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { asTenantId, PLATFORM_TENANT_ID, TenantDb } from '@app/authz';
import {
  Conflict,
  IDEMPOTENCY_PURGE_JOB,
  IDEMPOTENCY_QUEUE,
  IdempotencyService,
  withTraceContext,
} from '@app/core';
import {
  bearer,
  createTenant,
  createTenantKey,
  createTestApp,
  expectEventually,
  platformAdminKey,
  signIn,
  TestApp,
} from '@app/testing';
import { WORKER_HTTP_OPTIONS, WorkerModule } from '../../apps/worker/src/worker.module';
import { startApi } from '../support/api';

describe('Idempotency-Key', () => {
  let t: TestApp;
  const admin = platformAdminKey();

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  const newKey = () => `key-${randomUUID()}`;
  const newSlug = () => `i-${randomUUID().slice(0, 12)}`;
  const platformQuery = <T>(sql: string, params: unknown[] = []) =>
    t.app.get(TenantDb).asPlatform('test', (m) => m.query<T>(sql, params));
  const tenantsWithSlug = async (slug: string) =>
    (
      await platformQuery<{ n: number }[]>(
        'SELECT count(*)::int AS n FROM tenants WHERE slug = $1',
        [slug],
      )
    )[0].n;
  const createTenantWith = (key: string, body: object, token = admin, path = '/v1/tenants') =>
    t.http.post(path).set(bearer(token)).set('Idempotency-Key', key).send(body);

  it('makes exactly one tenant from 50 concurrent identical creates, and gives all 50 the same answer', async () => {
    const key = newKey();
    const slug = newSlug();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => createTenantWith(key, { slug, name: 'Concurrent' })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(201));
    expect(new Set(responses.map((r) => r.text)).size).toBe(1);
    expect(new Set(responses.map((r) => r.headers['content-type'])).size).toBe(1);
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(49);
    expect(await tenantsWithSlug(slug)).toBe(1);
  });

  it('replays the first response byte for byte, marked Idempotent-Replayed', async () => {
    const key = newKey();
    const body = { slug: newSlug(), name: 'Replayed' };
    const first = await createTenantWith(key, body).expect(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    // Same JSON, other key order and spacing: the same request (RFC 8785).
    const again = await t.http
      .post('/v1/tenants')
      .set(bearer(admin))
      .set('Idempotency-Key', key)
      .set('Content-Type', 'application/json')
      .send(`{ "name": "Replayed",   "slug": "${body.slug}" }`)
      .expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.text).toBe(first.text);
    expect(await tenantsWithSlug(body.slug)).toBe(1);
  });

  it('changes nothing for requests without the header', async () => {
    const res = await t.http
      .post('/v1/tenants')
      .set(bearer(admin))
      .send({ slug: newSlug(), name: 'Plain' })
      .expect(201);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    await t.http
      .post('/v1/tenants')
      .set(bearer(admin))
      .send({ slug: res.body.slug, name: 'Plain' })
      .expect(409);
  });

  it('answers 409 idempotency_key_reused for the same key with another body, and writes nothing', async () => {
    const key = newKey();
    await createTenantWith(key, { slug: newSlug(), name: 'First' }).expect(201);
    const otherSlug = newSlug();
    const res = await createTenantWith(key, { slug: otherSlug, name: 'Second' }).expect(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'idempotency_key_reused', status: 409 });
    expect(await tenantsWithSlug(otherSlug)).toBe(0);
  });

  it('answers 409 for the same key on another path, the query included', async () => {
    const key = newKey();
    const body = { slug: newSlug(), name: 'Path' };
    await createTenantWith(key, body).expect(201);
    const withQuery = await createTenantWith(key, body, admin, '/v1/tenants?dryRun=1').expect(409);
    expect(withQuery.body.code).toBe('idempotency_key_reused');
    const keys = await t.http.get('/v1/platform/api-keys?limit=100').set(bearer(admin)).expect(200);
    const otherRoute = await createTenantWith(
      key,
      { name: 'never made', roles: ['platform_admin'] },
      admin,
      '/v1/platform/api-keys',
    ).expect(409);
    expect(otherRoute.body.code).toBe('idempotency_key_reused');
    const after = await t.http
      .get('/v1/platform/api-keys?limit=100')
      .set(bearer(admin))
      .expect(200);
    expect(after.body.data.length).toBe(keys.body.data.length);
  });

  it('replays a stored 4xx byte for byte even after its cause is gone', async () => {
    const taken = await createTenant(t, 'Taken');
    const key = newKey();
    const body = { slug: taken.slug, name: 'Wants the slug' };
    const first = await createTenantWith(key, body).expect(409);
    expect(first.body.code).toBe('tenant_slug_taken');
    // The slug becomes free; the key still answers what it answered.
    await platformQuery(`UPDATE tenants SET slug = slug || '-moved' WHERE id = $1`, [taken.id]);
    const again = await createTenantWith(key, body).expect(409);
    expect(again.text).toBe(first.text);
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await tenantsWithSlug(taken.slug)).toBe(0);
    // Without the key the same body now succeeds.
    await t.http.post('/v1/tenants').set(bearer(admin)).send(body).expect(201);
  });

  it('stores the very problem the filter sends for the same request without a key', async () => {
    const taken = await createTenant(t, 'Taken twice');
    const body = { slug: taken.slug, name: 'x' };
    const requestId = `req-${randomUUID()}`;
    const plain = await t.http
      .post('/v1/tenants')
      .set(bearer(admin))
      .set('X-Request-Id', requestId)
      .send(body)
      .expect(409);
    const keyed = await createTenantWith(newKey(), body).set('X-Request-Id', requestId).expect(409);
    expect(keyed.text).toBe(plain.text);
    expect(keyed.headers['content-type']).toBe(plain.headers['content-type']);
  });

  it('works with the session cookie as the credential', async () => {
    const staff = await signIn(t, ['platform_admin']);
    const key = newKey();
    const body = { slug: newSlug(), name: 'Cookie' };
    const send = () =>
      t.http
        .post('/v1/tenants')
        .set('Cookie', `cp_session=${staff.token}`)
        .set('Sec-Fetch-Site', 'same-origin')
        .set('Idempotency-Key', key)
        .send(body);
    const first = await send().expect(201);
    const again = await send().expect(201);
    expect(again.text).toBe(first.text);
    // The same token as a bearer is the same credential of the same actor.
    const bearerReplay = await createTenantWith(key, body, staff.token).expect(201);
    expect(bearerReplay.text).toBe(first.text);
  });

  it('replays a validation 400 with its field errors', async () => {
    const key = newKey();
    const first = await createTenantWith(key, { slug: 'Not A Slug!', name: 'x' }).expect(400);
    expect(first.body.code).toBe('validation_failed');
    const again = await createTenantWith(key, { slug: 'Not A Slug!', name: 'x' }).expect(400);
    expect(again.text).toBe(first.text);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it.each([
    ['longer than 255 characters', 'k'.repeat(256)],
    ['empty', ''],
    ['holding a control character (tab)', 'a\tb'],
    ['holding a non-ASCII character', 'cl\u00e9'],
  ])('refuses a key %s with 400 naming the header', async (_what, key) => {
    const slug = newSlug();
    const res = await createTenantWith(key, { slug, name: 'Bad key' }).expect(400);
    expect(res.body).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'Idempotency-Key', message: expect.any(String) }],
    });
    expect(await tenantsWithSlug(slug)).toBe(0);
  });

  it('accepts a key of 255 printable characters, spaces included', async () => {
    const key = `${randomUUID()} ~!"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}`.padEnd(255, 'x');
    expect(key).toHaveLength(255);
    const body = { slug: newSlug(), name: 'Long key' };
    const first = await createTenantWith(key, body).expect(201);
    const again = await createTenantWith(key, body).expect(201);
    expect(again.text).toBe(first.text);
  });

  it('ignores the header on GET', async () => {
    const res = await t.http
      .get('/v1/me')
      .set(bearer(admin))
      .set('Idempotency-Key', 'x'.repeat(300))
      .expect(200);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
  });

  it('scopes keys per actor: another caller with the same key gets its own answer', async () => {
    const other = await signIn(t, ['platform_admin']);
    const key = newKey();
    const body = { slug: newSlug(), name: 'Per actor' };
    const mine = await createTenantWith(key, body).expect(201);
    // The other admin's request really runs: the slug is now taken.
    const theirs = await createTenantWith(key, body, other.token).expect(409);
    expect(theirs.body.code).toBe('tenant_slug_taken');
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    // Each replays its own.
    expect((await createTenantWith(key, body).expect(201)).text).toBe(mine.text);
    expect((await createTenantWith(key, body, other.token).expect(409)).text).toBe(theirs.text);
  });

  it('stores response bodies encrypted: a new API key never appears in the table', async () => {
    const tenant = await createTenant(t);
    const key = newKey();
    const path = `/v1/tenants/${tenant.id}/api-keys`;
    const body = { name: 'ci', roles: ['ml_engineer'], scopes: ['inference'] };
    const first = await createTenantWith(key, body, admin, path).expect(201);
    expect(first.body.key).toMatch(/^cp_test_/);
    expect(first.headers['cache-control']).toBe('no-store');
    const again = await createTenantWith(key, body, admin, path).expect(201);
    expect(again.text).toBe(first.text);
    expect(again.headers['cache-control']).toBe('no-store');

    const rows = await platformQuery<
      { tenant_id: string; response_body: Buffer; response_headers: Record<string, string> }[]
    >('SELECT tenant_id, response_body, response_headers FROM idempotency_keys WHERE key = $1', [
      key,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].tenant_id).toBe(tenant.id);
    expect(rows[0].response_headers).toMatchObject({ 'Cache-Control': 'no-store' });
    const stored = rows[0].response_body;
    expect(stored.includes(first.body.key)).toBe(false);
    expect(stored.includes(first.body.key.slice(8))).toBe(false);
    expect(stored.includes(first.body.id)).toBe(false);
    expect(stored.toString('latin1')).not.toContain('"name"');
  });

  it('answers 409 when the same actor returns with another credential (a rotated key)', async () => {
    const tenant = await createTenant(t);
    const caller = await createTenantKey(t, tenant.id, ['tenant_admin']);
    const key = newKey();
    const path = `/v1/tenants/${tenant.id}/api-keys`;
    const body = { name: 'made by a key', roles: ['viewer'] };
    await createTenantWith(key, body, caller.key, path).expect(201);
    const rotated = await t.http.post(`${path}/${caller.id}/rotate`).set(bearer(admin)).expect(200);
    const res = await createTenantWith(key, body, rotated.body.key, path).expect(409);
    expect(res.body.code).toBe('idempotency_key_reused');
  });

  it('keeps the status of @HttpCode(200) actions on first answers and replays', async () => {
    const tenant = await createTenant(t);
    const target = await createTenantKey(t, tenant.id, ['viewer']);
    const key = newKey();
    const path = `/v1/tenants/${tenant.id}/api-keys/${target.id}/rotate`;
    const first = await createTenantWith(key, {}, admin, path).expect(200);
    const again = await createTenantWith(key, {}, admin, path).expect(200);
    expect(again.text).toBe(first.text);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // The second call did not rotate again: the first secret still works.
    await t.http.get('/v1/me').set(bearer(first.body.key)).expect(200);
  });

  it('answers 409 for a key first used in another tenant scope', async () => {
    const [a, b] = [await createTenant(t), await createTenant(t)];
    const key = newKey();
    const body = { name: 'scoped', roles: ['viewer'] };
    await createTenantWith(key, body, admin, `/v1/tenants/${a.id}/api-keys`).expect(201);
    const res = await createTenantWith(key, body, admin, `/v1/tenants/${b.id}/api-keys`).expect(
      409,
    );
    expect(res.body.code).toBe('idempotency_key_reused');
  });

  it('counts outcomes in /metrics', async () => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.text).toMatch(/idempotent_requests_total\{outcome="replayed"\} [1-9]/);
    expect(res.text).toMatch(/idempotent_requests_total\{outcome="reused"\} [1-9]/);
  });

  it('documents the header on authenticated POST operations only', async () => {
    const { body } = await t.http.get('/docs-json').expect(200);
    const names = (op: { parameters?: { name: string }[] } | undefined) =>
      (op?.parameters ?? []).map((p) => p.name);
    expect(names(body.paths['/v1/tenants'].post)).toContain('Idempotency-Key');
    expect(names(body.paths['/v1/tenants'].get)).not.toContain('Idempotency-Key');
  });

  describe('inside the request transaction', () => {
    const call = (key: string, body: object) => ({
      key,
      actor: { type: 'api_key' as const, id: randomUUID() },
      tenantId: PLATFORM_TENANT_ID,
      credential: 'cp_test_credential_for_service_tests',
      request: { method: 'POST', originalUrl: '/v1/things', path: '/v1/things', body } as Request,
      routeHeaders: {},
      successStatus: () => 201,
    });
    const db = () => t.app.get(TenantDb);
    const service = () => t.app.get(IdempotencyService);

    it("rolls back the handler's writes on a 4xx, stores the problem and commits", async () => {
      const input = call(newKey(), { n: 1 });
      const slug = newSlug();
      const stored = await db().asPlatform('test', (manager) =>
        service().execute({ ...input, manager }, async () => {
          await manager.query(`INSERT INTO tenants (slug, name) VALUES ($1, 'doomed')`, [slug]);
          throw new Conflict('refused after writing');
        }),
      );
      expect(stored.response.status).toBe(409);
      expect(await tenantsWithSlug(slug)).toBe(0);
      const replay = await db().asPlatform('test', (manager) =>
        service().execute({ ...input, manager }, () => Promise.reject(new Error('must not run'))),
      );
      expect(replay.replayed).toBe(true);
      expect(replay.response.body.equals(stored.response.body)).toBe(true);
    });

    it('stores nothing when the handler fails with a 5xx, so a retry runs again', async () => {
      const input = call(newKey(), { n: 2 });
      const slug = newSlug();
      await expect(
        db().asPlatform('test', (manager) =>
          service().execute({ ...input, manager }, async () => {
            await manager.query(`INSERT INTO tenants (slug, name) VALUES ($1, 'doomed')`, [slug]);
            throw new Error('database fell over');
          }),
        ),
      ).rejects.toThrow('database fell over');
      expect(await tenantsWithSlug(slug)).toBe(0);
      expect(
        await platformQuery('SELECT 1 FROM idempotency_keys WHERE key = $1', [input.key]),
      ).toEqual([]);
      const retry = await db().asPlatform('test', (manager) =>
        service().execute({ ...input, manager }, async () => ({ ok: true })),
      );
      expect(retry.replayed).toBe(false);
      expect(retry.response.body.toString()).toBe('{"ok":true}');
    });

    it('tenant rows are tenant-scoped under row-level security', async () => {
      const tenant = await createTenant(t);
      const input = { ...call(newKey(), {}), tenantId: tenant.id };
      await db().inTenant(asTenantId(tenant.id), (manager) =>
        service().execute({ ...input, manager }, async () => ({ ok: true })),
      );
      const other = await createTenant(t);
      const seen = await db().inTenant(asTenantId(other.id), (m) =>
        m.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [input.key]),
      );
      expect(seen).toEqual([]);
    });
  });

  describe('expiry', () => {
    let worker: TestApp;
    beforeAll(async () => {
      worker = await createTestApp(
        (config, options) => WorkerModule.register(config, options),
        WORKER_HTTP_OPTIONS,
      );
    });
    afterAll(() => worker.close());

    const expire = (key: string) =>
      platformQuery(
        `UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`,
        [key],
      );

    it('keeps keys IDEMPOTENCY_KEY_TTL_HOURS (24 by default)', async () => {
      const key = newKey();
      await createTenantWith(key, { slug: newSlug(), name: 'TTL' }).expect(201);
      const [row] = await platformQuery<{ hours: number }[]>(
        `SELECT extract(epoch FROM expires_at - created_at) / 3600 AS hours FROM idempotency_keys WHERE key = $1`,
        [key],
      );
      expect(Number(row.hours)).toBeCloseTo(24, 2);
    });

    it('ignores an expired key: the same key may then carry a new request', async () => {
      const key = newKey();
      await createTenantWith(key, { slug: newSlug(), name: 'Old' }).expect(201);
      await expire(key);
      const slug = newSlug();
      const res = await createTenantWith(key, { slug, name: 'New' }).expect(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      expect(await tenantsWithSlug(slug)).toBe(1);
      // And the new answer is stored again.
      const again = await createTenantWith(key, { slug, name: 'New' }).expect(201);
      expect(again.text).toBe(res.text);
    });

    it('purges expired keys in the worker job and keeps live ones', async () => {
      const [gone, kept] = [newKey(), newKey()];
      await createTenantWith(gone, { slug: newSlug(), name: 'Gone' }).expect(201);
      await createTenantWith(kept, { slug: newSlug(), name: 'Kept' }).expect(201);
      await expire(gone);
      const queue = worker.app.get<Queue>(getQueueToken(IDEMPOTENCY_QUEUE));
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toContain('idempotency-purge');
      await queue.add(IDEMPOTENCY_PURGE_JOB, withTraceContext({ scheduledBy: 'test' }));
      await expectEventually(async () => {
        const rows = await platformQuery<{ key: string }[]>(
          'SELECT key FROM idempotency_keys WHERE key = ANY($1)',
          [[gone, kept]],
        );
        expect(rows.map((r) => r.key)).toEqual([kept]);
      });
    });
  });
});
