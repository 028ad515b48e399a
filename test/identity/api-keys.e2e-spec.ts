import {
  bearer,
  createTenant,
  createTenantKey,
  expectEventually,
  platformAdminKey,
  signIn,
  TestApp,
  TestTenant,
} from '@app/testing';
import { startApi } from '../support/api';

describe('API keys', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;
  let admin: string;

  beforeAll(async () => {
    t = await startApi({
      captureLogs: true,
    });
    tenant = await createTenant(t);
    other = await createTenant(t);
    admin = (await signIn(t, ['tenant_admin'], tenant.id)).token;
  });
  afterAll(() => t.close());

  const keysOf = (tenantId: string) => `/v1/tenants/${tenantId}/api-keys`;

  it('shows the secret once, at creation, and stores only a hash', async () => {
    const res = await t.http
      .post(keysOf(tenant.id))
      .set(bearer(admin))
      .send({ name: 'ci', roles: ['ml_engineer'], scopes: ['inference'] })
      .expect(201);
    expect(res.body.key).toMatch(/^cp_test_[A-Za-z0-9_-]{43}$/);
    expect(res.body).toMatchObject({
      name: 'ci',
      roles: ['ml_engineer'],
      scopes: ['inference'],
      status: 'active',
    });
    expect(res.body.key.startsWith(res.body.prefix)).toBe(true);
    expect(res.body).not.toHaveProperty('secretHash');

    const got = await t.http
      .get(`${keysOf(tenant.id)}/${res.body.id}`)
      .set(bearer(admin))
      .expect(200);
    expect(got.body).not.toHaveProperty('key');
    expect(got.body).not.toHaveProperty('secretHash');
    const listed = await t.http.get(keysOf(tenant.id)).set(bearer(admin)).expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(res.body.key);
    expect(JSON.stringify(t.logs)).not.toContain(res.body.key.slice(16));

    const me = await t.http.get('/v1/me').set(bearer(res.body.key)).expect(200);
    expect(me.body).toMatchObject({
      actor: { type: 'api_key', id: res.body.id, keyPrefix: res.body.prefix },
      tenantId: tenant.id,
      roles: ['ml_engineer'],
      scopes: ['inference'],
    });
    expect(JSON.stringify(t.logs)).not.toContain(res.body.key.slice(16));
  });

  it('records when a key was last used', async () => {
    const { id, key } = await createTenantKey(t, tenant.id, ['viewer']);
    await t.http.get('/v1/me').set(bearer(key)).expect(200);
    const got = await t.http
      .get(`${keysOf(tenant.id)}/${id}`)
      .set(bearer(admin))
      .expect(200);
    expect(Date.parse(got.body.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('answers 401 for a revoked key at once, and 409 when revoking it again', async () => {
    const { id, key } = await createTenantKey(t, tenant.id, ['viewer']);
    await t.http.get('/v1/me').set(bearer(key)).expect(200);
    const revoked = await t.http
      .post(`${keysOf(tenant.id)}/${id}/revoke`)
      .set(bearer(admin))
      .expect(200);
    expect(revoked.body.status).toBe('revoked');
    const res = await t.http.get('/v1/me').set(bearer(key)).expect(401);
    expect(res.headers['www-authenticate']).toContain('Bearer');
    expect(res.body).toMatchObject({ code: 'invalid_credentials', status: 401 });
    await t.http
      .post(`${keysOf(tenant.id)}/${id}/revoke`)
      .set(bearer(admin))
      .expect(409);
    await t.http
      .post(`${keysOf(tenant.id)}/${id}/rotate`)
      .set(bearer(admin))
      .expect(409);
  });

  it('rotates: new secret, same id, the old secret stops working', async () => {
    const { id, key } = await createTenantKey(t, tenant.id, ['viewer']);
    const rotated = await t.http
      .post(`${keysOf(tenant.id)}/${id}/rotate`)
      .set(bearer(admin))
      .expect(200);
    expect(rotated.body.id).toBe(id);
    expect(rotated.body.key).not.toBe(key);
    await t.http.get('/v1/me').set(bearer(key)).expect(401);
    const me = await t.http.get('/v1/me').set(bearer(rotated.body.key)).expect(200);
    expect(me.body.actor.id).toBe(id);
  });

  it('answers 401 once a key has expired', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const res = await t.http
      .post(keysOf(tenant.id))
      .set(bearer(admin))
      .send({ name: 'short', roles: ['viewer'], expiresAt })
      .expect(201);
    await t.http.get('/v1/me').set(bearer(res.body.key)).expect(200);
    await expectEventually(() => t.http.get('/v1/me').set(bearer(res.body.key)).expect(401), {
      timeoutMs: 5000,
    });
  });

  it.each([
    [{ roles: ['viewer'] }, 'name'],
    [{ name: '', roles: ['viewer'] }, 'name'],
    [{ name: 'x'.repeat(101), roles: ['viewer'] }, 'name'],
    [{ name: 'k', roles: ['superuser'] }, 'roles'],
    [{ name: 'k', roles: ['viewer', 'viewer'] }, 'roles'],
    [{ name: 'k', scopes: ['everything'] }, 'scopes'],
    [{ name: 'k', roles: ['viewer'], expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
    [{ name: 'k', roles: ['viewer'], expiresAt: 'tomorrow' }, 'expiresAt'],
    [{ name: 'k', roles: ['viewer'], admin: true }, 'admin'],
  ])('rejects %j with a field error on %s and creates nothing', async (body, path) => {
    const before = (await t.http.get(`${keysOf(tenant.id)}?limit=100`).set(bearer(admin))).body.data
      .length;
    const res = await t.http.post(keysOf(tenant.id)).set(bearer(admin)).send(body).expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    const after = (await t.http.get(`${keysOf(tenant.id)}?limit=100`).set(bearer(admin))).body.data
      .length;
    expect(after).toBe(before);
  });

  it.each([
    [{ name: 'k', roles: ['platform_admin'] }, 'roles[0]'],
    [{ name: 'k', scopes: ['usage:write'] }, 'scopes[0]'],
    [{ name: 'k' }, 'roles'],
  ])('refuses %j on a tenant key (422 on %s)', async (body, path) => {
    const res = await t.http.post(keysOf(tenant.id)).set(bearer(admin)).send(body).expect(422);
    expect(res.body.code).toBe('role_not_allowed_here');
    expect(res.body.errors[0].path).toBe(path);
  });

  it("answers 404 for another tenant's keys and key ids", async () => {
    const otherKey = await createTenantKey(t, other.id, ['viewer']);
    await t.http.get(keysOf(other.id)).set(bearer(admin)).expect(404);
    await t.http
      .post(keysOf(other.id))
      .set(bearer(admin))
      .send({ name: 'x', roles: ['viewer'] })
      .expect(404);
    await t.http
      .get(`${keysOf(tenant.id)}/${otherKey.id}`)
      .set(bearer(admin))
      .expect(404);
    await t.http
      .post(`${keysOf(tenant.id)}/${otherKey.id}/revoke`)
      .set(bearer(admin))
      .expect(404);
    await t.http
      .post(`${keysOf(other.id)}/${otherKey.id}/revoke`)
      .set(bearer(admin))
      .expect(404);
    await t.http.get('/v1/me').set(bearer(otherKey.key)).expect(200);
  });

  it('lets only staff reach platform keys', async () => {
    await t.http.get('/v1/platform/api-keys').set(bearer(admin)).expect(404);
    const created = await t.http
      .post('/v1/platform/api-keys')
      .set(bearer(platformAdminKey()))
      .send({ name: 'ingest', scopes: ['usage:write'] })
      .expect(201);
    expect(created.body.scopes).toEqual(['usage:write']);
    await t.http
      .post('/v1/platform/api-keys')
      .set(bearer(platformAdminKey()))
      .send({ name: 'bad', roles: ['tenant_admin'] })
      .expect(422);
  });

  it('pages through keys with a cursor', async () => {
    const pageTenant = await createTenant(t);
    const created = [];
    for (let i = 0; i < 5; i += 1)
      created.push((await createTenantKey(t, pageTenant.id, ['viewer'])).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await t.http
        .get(`${keysOf(pageTenant.id)}?limit=2${cursor ? `&after=${cursor}` : ''}`)
        .set(bearer(platformAdminKey()))
        .expect(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((k) => k.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...created].reverse());
    await t.http
      .get(`${keysOf(pageTenant.id)}?limit=0`)
      .set(bearer(platformAdminKey()))
      .expect(400);
    await t.http
      .get(`${keysOf(pageTenant.id)}?limit=101`)
      .set(bearer(platformAdminKey()))
      .expect(400);
    await t.http
      .get(`${keysOf(pageTenant.id)}?after=forged`)
      .set(bearer(platformAdminKey()))
      .expect(400);
  });
});

describe('API keys: hostile input', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let admin: string;

  beforeAll(async () => {
    t = await startApi({ captureLogs: true });
    tenant = await createTenant(t);
    admin = (await signIn(t, ['tenant_admin'], tenant.id)).token;
  });
  afterAll(() => t.close());

  const keys = () => `/v1/tenants/${tenant.id}/api-keys`;
  const count = async () =>
    (await t.http.get(`${keys()}?limit=100`).set(bearer(admin))).body.data.length;

  it.each([
    ['null roles', { name: 'x', roles: null }],
    ['null scopes', { name: 'x', roles: ['viewer'], scopes: null }],
    ['a NUL character', { name: 'a\u0000b', roles: ['viewer'] }],
    ['a blank name', { name: '   ', roles: ['viewer'] }],
    ['a lone surrogate', '{"name":"a\\ud800b","roles":["viewer"]}'],
    [
      'deep nesting',
      '{"name":"x","roles":["viewer"],"deep":' +
        '{"a":'.repeat(5000) +
        '1' +
        '}'.repeat(5000) +
        '}',
    ],
  ])('answers %s with 400 and creates nothing', async (_name, body) => {
    const before = await count();
    const res = await t.http
      .post(keys())
      .set(bearer(admin))
      .type('json')
      .send(typeof body === 'string' ? body : JSON.stringify(body))
      .expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(await count()).toBe(before);
  });

  it('accepts no form-encoded bodies', async () => {
    const before = await count();
    await t.http
      .post(keys())
      .set(bearer(admin))
      .type('form')
      .send('name=formkey&roles=viewer')
      .expect(400);
    expect(await count()).toBe(before);
  });

  it.each([
    ['a bad percent-encoding', 'cp_session=%'],
    ['an API key in the session cookie', 'cp_session=KEY'],
  ])('answers 401 for %s', async (_name, cookie) => {
    const { key } = await createTenantKey(t, tenant.id, ['viewer']);
    await t.http.get('/v1/me').set('Cookie', cookie.replace('KEY', key)).expect(401);
  });

  it('answers 400 for forged cursors', async () => {
    for (const value of [
      { k: '2020-01-01', id: 'x' },
      { k: 'notadate', id: '6f1c2a52-8a4e-4a43-9c38-5a0f1d3f1e10' },
    ]) {
      const cursor = Buffer.from(JSON.stringify(value)).toString('base64url');
      await t.http.get(`${keys()}?after=${cursor}`).set(bearer(admin)).expect(400);
      await t.http.get(`/v1/tenants?after=${cursor}`).set(bearer(admin)).expect(400);
    }
  });

  it('refuses to rotate an expired key, and marks secrets no-store', async () => {
    const res = await t.http
      .post(keys())
      .set(bearer(admin))
      .send({
        name: 'short',
        roles: ['viewer'],
        expiresAt: new Date(Date.now() + 500).toISOString(),
      })
      .expect(201);
    expect(res.headers['cache-control']).toBe('no-store');
    await expectEventually(
      () => t.http.post(`${keys()}/${res.body.id}/rotate`).set(bearer(admin)).expect(409),
      {
        timeoutMs: 5000,
      },
    );
  });
});
