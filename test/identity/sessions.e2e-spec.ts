import { bearer, createTenant, expectEventually, signIn, TestApp } from '@app/testing';
import { startApi } from '../support/api';

const api = (env: Record<string, string> = {}) =>
  startApi({
    env,
  });

describe('sessions and /v1/me', () => {
  let t: TestApp;
  beforeAll(async () => (t = await api()));
  afterAll(() => t.close());

  it('accepts the session as a bearer token or as the cookie', async () => {
    const tenant = await createTenant(t);
    const { token, userId, email } = await signIn(t, ['ml_engineer'], tenant.id);
    const me = await t.http.get('/v1/me').set(bearer(token)).expect(200);
    expect(me.body).toMatchObject({
      actor: { type: 'user', id: userId, email },
      tenantId: tenant.id,
      roles: ['ml_engineer'],
    });
    expect(me.body.permissions).toEqual(
      expect.arrayContaining([
        { action: 'read', subject: 'Tenant', conditions: { id: tenant.id } },
      ]),
    );
    await t.http.get('/v1/me').set('Cookie', `other=1; cp_session=${token}`).expect(200);
  });

  it('shows staff with a null tenant', async () => {
    const { token } = await signIn(t, ['account_manager']);
    const me = await t.http.get('/v1/me').set(bearer(token)).expect(200);
    expect(me.body).toMatchObject({ tenantId: null, roles: ['account_manager'] });
  });

  it('ends the session at logout', async () => {
    const { token } = await signIn(t, ['viewer'], (await createTenant(t)).id);
    const res = await t.http.post('/v1/auth/logout').set(bearer(token)).expect(204);
    expect(res.headers['set-cookie']?.[0]).toMatch(/^cp_session=;/);
    expect(res.headers['set-cookie']?.[0]).toMatch(/HttpOnly/);
    expect(res.headers['set-cookie']?.[0]).toMatch(/Secure/);
    expect(res.headers['set-cookie']?.[0]).toMatch(/SameSite=Lax/);
    await t.http.get('/v1/me').set(bearer(token)).expect(401);
  });

  it.each([
    ['no credentials', {}, 'credentials_required'],
    [
      'an unknown key',
      bearer('cp_test_not-a-real-key-000000000000000000000000'),
      'invalid_credentials',
    ],
    ['an unknown session', bearer('cps_nope'), 'invalid_credentials'],
    ['a non-bearer scheme', { Authorization: 'Basic dXNlcjpwYXNz' }, 'credentials_required'],
  ])('answers 401 with WWW-Authenticate for %s', async (_name, headers, code) => {
    const res = await t.http.get('/v1/me').set(headers).expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="control-plane"/);
    expect(res.body).toMatchObject({ status: 401, code });
  });

  it('counts denials in metrics', async () => {
    await t.http.get('/v1/me').expect(401);
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /access_denied_total\{status_code="401",reason="unauthenticated"\} [1-9]/,
    );
  });
});

describe('session expiry', () => {
  it('ends an idle session after SESSION_IDLE_TIMEOUT_MS', async () => {
    const t = await api({ SESSION_IDLE_TIMEOUT_MS: '400' });
    try {
      const { token } = await signIn(t, ['viewer'], (await createTenant(t)).id);
      await t.http.get('/v1/me').set(bearer(token)).expect(200);
      // Polling less often than the idle timeout: each poll is itself a use of the session.
      await expectEventually(() => t.http.get('/v1/me').set(bearer(token)).expect(401), {
        timeoutMs: 5000,
        intervalMs: 600,
      });
    } finally {
      await t.close();
    }
  });

  it('ends a session at SESSION_ABSOLUTE_TIMEOUT_MS even while in use', async () => {
    const t = await api({ SESSION_ABSOLUTE_TIMEOUT_MS: '800' });
    try {
      const { token } = await signIn(t, ['viewer'], (await createTenant(t)).id);
      await expectEventually(() => t.http.get('/v1/me').set(bearer(token)).expect(401), {
        timeoutMs: 5000,
        intervalMs: 100,
      });
    } finally {
      await t.close();
    }
  });
});
