import {
  accountManagerFor,
  bearer,
  createTenant,
  createTenantKey,
  platformAdminKey,
  signIn,
  TestApp,
  TestTenant,
} from '@app/testing';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

/**
 * A tenant's people (`/v1/tenants/{tenantId}/users`): listing with roles and last sign-in,
 * disabling (which ends their sessions, audited with before and after) and enabling; who may
 * do what; another tenant's users hidden behind 404.
 */
describe('tenant users (/v1/tenants/{tenantId}/users)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  const usersOf = (tenantId: string) => `/v1/tenants/${tenantId}/users`;

  /** A fresh tenant with a signed-in admin, and one more member of `roles`. */
  async function tenantWithAdmin(roles: ('ml_engineer' | 'viewer')[] = ['ml_engineer']) {
    const tenant = await createTenant(t);
    const admin = await signIn(t, ['tenant_admin'], tenant.id);
    const member = await signIn(t, roles, tenant.id);
    return { tenant, admin, member };
  }

  it('lists the tenant’s users oldest first with their roles and last sign-in, page by page', async () => {
    const { tenant, admin, member } = await tenantWithAdmin();
    const first = await t.http
      .get(usersOf(tenant.id))
      .query({ limit: 1 })
      .set(bearer(admin.token))
      .expect(200);
    expect(first.body.data).toEqual([
      {
        id: admin.userId,
        tenantId: tenant.id,
        email: admin.email,
        displayName: null,
        status: 'active',
        roles: ['tenant_admin'],
        lastSignInAt: expect.any(String),
        createdAt: expect.any(String),
      },
    ]);
    expect(Date.parse(first.body.data[0].lastSignInAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await t.http
      .get(usersOf(tenant.id))
      .query({ limit: 1, after: first.body.nextCursor })
      .set(bearer(admin.token))
      .expect(200);
    expect(second.body.data.map((u: { id: string }) => u.id)).toEqual([member.userId]);
    expect(second.body.data[0].roles).toEqual(['ml_engineer']);
    expect(second.body.nextCursor).toBeNull();

    const one = await t.http
      .get(`${usersOf(tenant.id)}/${member.userId}`)
      .set(bearer(admin.token))
      .expect(200);
    expect(one.body).toMatchObject({ id: member.userId, email: member.email, status: 'active' });
  });

  it('disables a user, ending their sessions, audited with before and after; enabling lets them back', async () => {
    const { tenant, admin, member } = await tenantWithAdmin();
    await t.http.get('/v1/me').set(bearer(member.token)).expect(200);

    const disabled = await t.http
      .post(`${usersOf(tenant.id)}/${member.userId}/disable`)
      .set(bearer(admin.token))
      .expect(200);
    expect(disabled.body).toMatchObject({ id: member.userId, status: 'disabled' });
    await t.http.get('/v1/me').set(bearer(member.token)).expect(401);
    // Again: nothing more to change.
    await t.http
      .post(`${usersOf(tenant.id)}/${member.userId}/disable`)
      .set(bearer(admin.token))
      .expect(200);

    const audit = await t.http
      .get(`/v1/tenants/${tenant.id}/audit/events`)
      .query({ action: 'user.disable', resourceId: member.userId, order: 'asc' })
      .set(bearer(platformAdminKey()))
      .expect(200);
    expect(audit.body.data[0]).toMatchObject({
      action: 'user.disable',
      outcome: 'success',
      actor: { type: 'user', id: admin.userId },
      resource: { type: 'user', id: member.userId },
      changes: {
        before: { id: member.userId, status: 'active', roles: ['ml_engineer'] },
        after: { id: member.userId, status: 'disabled', roles: ['ml_engineer'] },
      },
    });

    const enabled = await t.http
      .post(`${usersOf(tenant.id)}/${member.userId}/enable`)
      .set(bearer(admin.token))
      .send({})
      .expect(200);
    expect(enabled.body.status).toBe('active');
    // The sessions the disable ended stay ended (not merely refused while disabled).
    await t.http.get('/v1/me').set(bearer(member.token)).expect(401);
    const listed = await t.http.get(usersOf(tenant.id)).set(bearer(admin.token)).expect(200);
    expect(listed.body.data.find((u: { id: string }) => u.id === member.userId).status).toBe(
      'active',
    );
  });

  it('refuses a tenant admin disabling themselves (409), changing nothing', async () => {
    const { tenant, admin } = await tenantWithAdmin();
    const res = await t.http
      .post(`${usersOf(tenant.id)}/${admin.userId}/disable`)
      .set(bearer(admin.token))
      .expect(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'cannot_disable_self', status: 409 });
    await t.http.get('/v1/me').set(bearer(admin.token)).expect(200);
    const got = await t.http
      .get(`${usersOf(tenant.id)}/${admin.userId}`)
      .set(bearer(admin.token))
      .expect(200);
    expect(got.body.status).toBe('active');
  });

  it('lets compliance officers and assigned account managers read, but not disable (403)', async () => {
    const { tenant, member } = await tenantWithAdmin();
    const officer = await signIn(t, ['compliance_officer'], tenant.id);
    const manager = await accountManagerFor(t, tenant.id);
    for (const token of [officer.token, manager.token]) {
      const list = await t.http.get(usersOf(tenant.id)).set(bearer(token)).expect(200);
      expect(list.body.data.length).toBeGreaterThanOrEqual(2);
      const res = await t.http
        .post(`${usersOf(tenant.id)}/${member.userId}/disable`)
        .set(bearer(token))
        .expect(403);
      expect(res.body).toMatchObject({
        code: 'missing_permission',
        missingPermission: { action: 'disable', subject: 'User' },
      });
    }
  });

  it('refuses viewers and ML engineers: neither reads nor disables users (403)', async () => {
    const { tenant, admin, member } = await tenantWithAdmin(['viewer']);
    const engineer = (await createTenantKey(t, tenant.id, ['ml_engineer'])).key;
    for (const token of [member.token, engineer]) {
      await t.http.get(usersOf(tenant.id)).set(bearer(token)).expect(403);
      await t.http
        .post(`${usersOf(tenant.id)}/${admin.userId}/disable`)
        .set(bearer(token))
        .expect(403);
    }
    await t.http.get('/v1/me').set(bearer(admin.token)).expect(200);
  });

  it('lets a platform admin disable any tenant’s user', async () => {
    const { tenant, member } = await tenantWithAdmin();
    await t.http
      .post(`${usersOf(tenant.id)}/${member.userId}/disable`)
      .set(bearer(platformAdminKey()))
      .expect(200);
    await t.http.get('/v1/me').set(bearer(member.token)).expect(401);
  });

  describe('another tenant, unknown ids and bad input', () => {
    let acme: { tenant: TestTenant; admin: { token: string; userId: string } };
    let globex: { tenant: TestTenant; admin: { token: string }; member: { userId: string } };

    beforeAll(async () => {
      acme = await tenantWithAdmin();
      globex = await tenantWithAdmin();
    });

    it('hides another tenant’s users behind 404, by its path or by id under one’s own', async () => {
      const other = usersOf(globex.tenant.id);
      for (const path of [
        other,
        `${other}/${globex.member.userId}`,
        `${usersOf(acme.tenant.id)}/${globex.member.userId}`,
      ]) {
        const res = await t.http.get(path).set(bearer(acme.admin.token)).expect(404);
        expect(res.body.code).toBe('not_found');
      }
      await t.http
        .post(`${other}/${globex.member.userId}/disable`)
        .set(bearer(acme.admin.token))
        .expect(404);
      await t.http
        .post(`${usersOf(acme.tenant.id)}/${globex.member.userId}/disable`)
        .set(bearer(acme.admin.token))
        .expect(404);
      // Still active in its own tenant.
      const got = await t.http
        .get(`${other}/${globex.member.userId}`)
        .set(bearer(globex.admin.token))
        .expect(200);
      expect(got.body.status).toBe('active');
      // An account manager not assigned to the tenant does not see it either.
      const stranger = await accountManagerFor(t);
      await t.http.get(usersOf(acme.tenant.id)).set(bearer(stranger.token)).expect(404);
    });

    it('answers 404 for an unknown user id and for a malformed one (it names no user)', async () => {
      const base = usersOf(acme.tenant.id);
      for (const id of [randomUUID(), 'not-a-uuid', '12345']) {
        const got = await t.http.get(`${base}/${id}`).set(bearer(acme.admin.token)).expect(404);
        expect(got.body).toMatchObject({ code: 'not_found', detail: 'No such user.' });
        await t.http.post(`${base}/${id}/disable`).set(bearer(acme.admin.token)).expect(404);
        await t.http.post(`${base}/${id}/enable`).set(bearer(acme.admin.token)).expect(404);
      }
    });

    it.each([
      ['limit 0', { limit: '0' }, 'limit'],
      ['limit 101', { limit: '101' }, 'limit'],
      ['a limit that is not a number', { limit: 'ten' }, 'limit'],
      ['a cursor this list did not make', { after: 'not-a-cursor' }, 'after'],
    ])('answers 400 with a field error for %s', async (_name, query, field) => {
      const res = await t.http
        .get(usersOf(acme.tenant.id))
        .query(query)
        .set(bearer(acme.admin.token))
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    });

    it('answers 400 for a body sent to disable or enable, changing nothing', async () => {
      const target = (await signIn(t, ['viewer'], acme.tenant.id)).userId;
      for (const action of ['disable', 'enable']) {
        const res = await t.http
          .post(`${usersOf(acme.tenant.id)}/${target}/${action}`)
          .set(bearer(acme.admin.token))
          .send({ status: 'disabled' })
          .expect(400);
        expect(res.body.errors).toEqual([
          { path: 'status', message: 'property status should not exist' },
        ]);
      }
      const got = await t.http
        .get(`${usersOf(acme.tenant.id)}/${target}`)
        .set(bearer(acme.admin.token))
        .expect(200);
      expect(got.body.status).toBe('active');
    });
  });
});
