import { bearer, createTenant, platformAdminKey, signIn, TestApp } from '@app/testing';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

describe('tenants', () => {
  let t: TestApp;
  const admin = () => bearer(platformAdminKey());

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  it('creates a tenant and reads it back', async () => {
    const slug = `acme-${randomUUID().slice(0, 8)}`;
    const res = await t.http
      .post('/v1/tenants')
      .set(admin())
      .send({ slug, name: 'Acme Corp' })
      .expect(201);
    expect(res.body).toMatchObject({
      slug,
      name: 'Acme Corp',
      id: expect.any(String),
      createdAt: expect.any(String),
    });
    await t.http.get(`/v1/tenants/${res.body.id}`).set(admin()).expect(200, res.body);
  });

  it('refuses a duplicate slug with 409 and keeps the first tenant', async () => {
    const first = await createTenant(t, 'First');
    const res = await t.http
      .post('/v1/tenants')
      .set(admin())
      .send({ slug: first.slug, name: 'Second' })
      .expect(409);
    expect(res.body.code).toBe('tenant_slug_taken');
    await t.http
      .get(`/v1/tenants/${first.id}`)
      .set(admin())
      .expect(200)
      .expect((r) => expect(r.body.name).toBe('First'));
  });

  it.each([
    [{ name: 'x' }, 'slug'],
    [{ slug: 'Has Caps', name: 'x' }, 'slug'],
    [{ slug: '-leading', name: 'x' }, 'slug'],
    [{ slug: 'a'.repeat(64), name: 'x' }, 'slug'],
    [{ slug: 'ok-slug' }, 'name'],
    [{ slug: 'ok-slug', name: '' }, 'name'],
    [{ slug: 'ok-slug', name: 'x', id: randomUUID() }, 'id'],
  ])('rejects %j (field %s)', async (body, path) => {
    const res = await t.http.post('/v1/tenants').set(admin()).send(body).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('answers 404 for unknown, malformed and platform-organization tenant ids', async () => {
    await t.http.get(`/v1/tenants/${randomUUID()}`).set(admin()).expect(404);
    await t.http.get('/v1/tenants/not-a-uuid').set(admin()).expect(404);
    await t.http.get('/v1/tenants/00000000-0000-0000-0000-000000000000').set(admin()).expect(404);
  });

  it('shows each caller only the tenants its rules allow, in the list and one by one', async () => {
    const [a, b, c] = [await createTenant(t), await createTenant(t), await createTenant(t)];
    const manager = await signIn(t, ['account_manager']);
    await t.http
      .post(`/v1/tenants/${a.id}/account-managers`)
      .set(admin())
      .send({ userId: manager.userId })
      .expect(201);
    await t.http
      .post(`/v1/tenants/${b.id}/account-managers`)
      .set(admin())
      .send({ userId: manager.userId })
      .expect(201);
    const member = await signIn(t, ['tenant_admin'], c.id);
    const officer = await signIn(t, ['compliance_officer']);

    const listAll = async (token: string) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await t.http
          .get(`/v1/tenants?limit=100${cursor ? `&after=${cursor}` : ''}`)
          .set(bearer(token))
          .expect(200);
        ids.push(...res.body.data.map((x) => x.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      return ids;
    };
    expect((await listAll(manager.token)).sort()).toEqual([a.id, b.id].sort());
    expect(await listAll(member.token)).toEqual([c.id]);
    expect(await listAll(officer.token)).toEqual(expect.arrayContaining([a.id, b.id, c.id]));
    expect(await listAll(platformAdminKey())).toEqual(expect.arrayContaining([a.id, b.id, c.id]));

    await t.http.get(`/v1/tenants/${a.id}`).set(bearer(manager.token)).expect(200);
    await t.http.get(`/v1/tenants/${c.id}`).set(bearer(manager.token)).expect(404);
    await t.http.get(`/v1/tenants/${a.id}`).set(bearer(member.token)).expect(404);
    await t.http
      .post('/v1/tenants')
      .set(bearer(member.token))
      .send({ slug: 'nope', name: 'x' })
      .expect(403);
  });

  it('lets an account manager create a tenant, assigning them to it in the same transaction', async () => {
    const manager = await signIn(t, ['account_manager']);
    const slug = `am-${randomUUID().slice(0, 8)}`;
    const created = await t.http
      .post('/v1/tenants')
      .set(bearer(manager.token))
      .send({ slug, name: 'Brought in by sales' })
      .expect(201);
    expect(created.body).toMatchObject({ slug, status: 'onboarding' });
    const id = created.body.id as string;
    // From the next request on, the manager reaches it like any assigned tenant...
    await t.http.get(`/v1/tenants/${id}`).set(bearer(manager.token)).expect(200);
    const mine = await t.http.get('/v1/tenants?limit=100').set(bearer(manager.token)).expect(200);
    expect(mine.body.data.map((x: { id: string }) => x.id)).toEqual([id]);
    await t.http
      .post(`/v1/tenants/${id}/contracts`)
      .set(bearer(manager.token))
      .send({ contractNumber: 'FIRST', termStart: '2030-01-01T00:00:00Z' })
      .expect(201);
    const assignments = await t.http
      .get(`/v1/tenants/${id}/account-managers`)
      .set(admin())
      .expect(200);
    expect(assignments.body.data).toEqual([
      expect.objectContaining({ tenantId: id, userId: manager.userId }),
    ]);
    // ...and another account manager does not.
    const other = await signIn(t, ['account_manager']);
    await t.http.get(`/v1/tenants/${id}`).set(bearer(other.token)).expect(404);
  });

  it('creates no assignment when an account manager API key creates a tenant (keys are not people)', async () => {
    const key = await t.http
      .post('/v1/platform/api-keys')
      .set(admin())
      .send({ name: 'crm sync', roles: ['account_manager'] })
      .expect(201);
    const created = await t.http
      .post('/v1/tenants')
      .set(bearer(key.body.key))
      .send({ slug: `key-${randomUUID().slice(0, 8)}`, name: 'From the CRM' })
      .expect(201);
    const assignments = await t.http
      .get(`/v1/tenants/${created.body.id}/account-managers`)
      .set(admin())
      .expect(200);
    expect(assignments.body).toEqual({ data: [], nextCursor: null });
    await t.http.get(`/v1/tenants/${created.body.id}`).set(bearer(key.body.key)).expect(404);
  });

  it('refuses tenant creation to tenant members and operator compliance officers (403)', async () => {
    const tenant = await createTenant(t);
    const member = await signIn(t, ['tenant_admin'], tenant.id);
    const officer = await signIn(t, ['compliance_officer']);
    for (const token of [member.token, officer.token]) {
      const res = await t.http
        .post('/v1/tenants')
        .set(bearer(token))
        .send({ slug: `no-${randomUUID().slice(0, 8)}`, name: 'x' })
        .expect(403);
      expect(res.body.missingPermission).toEqual({ action: 'create', subject: 'Tenant' });
    }
  });

  it('pages tenants with a stable cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await t.http
        .get(`/v1/tenants?limit=2${cursor ? `&after=${cursor}` : ''}`)
        .set(admin())
        .expect(200);
      seen.push(...res.body.data.map((x) => x.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });
});

describe('account-manager assignments', () => {
  let t: TestApp;
  const admin = () => bearer(platformAdminKey());
  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  it('assigns idempotently and lists the assignment', async () => {
    const tenant = await createTenant(t);
    const manager = await signIn(t, ['account_manager']);
    await t.http
      .post(`/v1/tenants/${tenant.id}/account-managers`)
      .set(admin())
      .send({ userId: manager.userId })
      .expect(201);
    await t.http
      .post(`/v1/tenants/${tenant.id}/account-managers`)
      .set(admin())
      .send({ userId: manager.userId })
      .expect(201);
    const list = await t.http
      .get(`/v1/tenants/${tenant.id}/account-managers`)
      .set(admin())
      .expect(200);
    expect(list.body.data).toEqual([
      expect.objectContaining({ tenantId: tenant.id, userId: manager.userId }),
    ]);
    const own = await t.http
      .get(`/v1/tenants/${tenant.id}/account-managers`)
      .set(bearer(manager.token))
      .expect(200);
    expect(own.body.data).toHaveLength(1);
  });

  it('refuses a user who is not an account manager (422) and a malformed id (400)', async () => {
    const tenant = await createTenant(t);
    const officer = await signIn(t, ['compliance_officer']);
    const member = await signIn(t, ['tenant_admin'], tenant.id);
    for (const userId of [officer.userId, member.userId, randomUUID()]) {
      const res = await t.http
        .post(`/v1/tenants/${tenant.id}/account-managers`)
        .set(admin())
        .send({ userId })
        .expect(422);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'userId' })]);
    }
    await t.http
      .post(`/v1/tenants/${tenant.id}/account-managers`)
      .set(admin())
      .send({ userId: 'x' })
      .expect(400);
  });
});

describe('account-manager assignments under load', () => {
  it('answers 20 concurrent assignments on a pool of 3 without exhausting it', async () => {
    const t = await startApi({ env: { DATABASE_POOL_SIZE: '3' } });
    try {
      const tenant = await createTenant(t);
      const manager = await signIn(t, ['account_manager']);
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          t.http
            .post(`/v1/tenants/${tenant.id}/account-managers`)
            .set(bearer(platformAdminKey()))
            .send({ userId: manager.userId })
            .then((r) => r.status),
        ),
      );
      expect(answers).toEqual(Array(20).fill(201));
      await t.http.get('/v1/me').set(bearer(platformAdminKey())).expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('platform staff users', () => {
  let t: TestApp;
  const admin = () => bearer(platformAdminKey());
  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  it('creates staff with platform roles and refuses duplicates and tenant roles', async () => {
    const email = `am-${randomUUID().slice(0, 6)}@operator.test`;
    const res = await t.http
      .post('/v1/platform/users')
      .set(admin())
      .send({ email, roles: ['account_manager'] })
      .expect(201);
    expect(res.body).toMatchObject({ email, roles: ['account_manager'], status: 'active' });
    await t.http
      .post('/v1/platform/users')
      .set(admin())
      .send({ email: email.toUpperCase(), roles: ['account_manager'] })
      .expect(409);
    await t.http
      .post('/v1/platform/users')
      .set(admin())
      .send({ email: 'x@y.test', roles: ['tenant_admin'] })
      .expect(400);
    await t.http
      .post('/v1/platform/users')
      .set(admin())
      .send({ email: 'not-an-email', roles: ['viewer'] })
      .expect(400);
    for (let i = 0; i < 3; i += 1) {
      await t.http
        .post('/v1/platform/users')
        .set(admin())
        .send({
          email: `page-${i}-${randomUUID().slice(0, 6)}@operator.test`,
          roles: ['compliance_officer'],
        })
        .expect(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: { email: string }[]; nextCursor: string | null } } = await t.http
        .get(`/v1/platform/users?limit=2${cursor ? `&after=${cursor}` : ''}`)
        .set(admin())
        .expect(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((u) => u.email));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toContain(email);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(4);
  });
});
