import { asTenantId } from '@app/authz';
import { ApiKeyService } from '@app/identity';
import {
  bearer,
  createTenant,
  createTenantKey,
  platformAdminKey,
  signIn,
  TestApp,
  TestTenant,
} from '@app/testing';
import { startApi } from '../support/api';

describe('API key rate limits', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;
  let admin: string;

  beforeAll(async () => {
    t = await startApi();
    tenant = await createTenant(t);
    other = await createTenant(t);
    admin = (await signIn(t, ['tenant_admin'], tenant.id)).token;
  });
  afterAll(() => t.close());

  const keysOf = (tenantId: string) => `/v1/tenants/${tenantId}/api-keys`;
  const createKey = (body: Record<string, unknown>) =>
    t.http
      .post(keysOf(tenant.id))
      .set(bearer(admin))
      .send({ name: 'gw', scopes: ['inference'], ...body });

  it('takes rate limits at creation, shows them, and hands them to the data plane', async () => {
    const res = await createKey({
      rateLimits: { requestsPerMinute: 600, tokensPerMinute: 200_000 },
    }).expect(201);
    expect(res.body.rateLimits).toEqual({ requestsPerMinute: 600, tokensPerMinute: 200_000 });
    const got = await t.http
      .get(`${keysOf(tenant.id)}/${res.body.id}`)
      .set(bearer(admin))
      .expect(200);
    expect(got.body.rateLimits).toEqual({ requestsPerMinute: 600, tokensPerMinute: 200_000 });
    const keys = t.app.get(ApiKeyService);
    // Outside any request or transaction, as the gateway calls it.
    expect(await keys.rateLimitsOf(asTenantId(tenant.id), res.body.id)).toEqual({
      requestsPerMinute: 600,
      tokensPerMinute: 200_000,
    });
    // Another tenant's key, or no key at all, has none.
    expect(await keys.rateLimitsOf(asTenantId(other.id), res.body.id)).toBeNull();
    expect(await keys.rateLimitsOf(asTenantId(tenant.id), 'nonsense')).toBeNull();

    const unlimited = await createKey({}).expect(201);
    expect(unlimited.body.rateLimits).toBeNull();
    // Null limits inside are the same as absent ones: stored once, as unlimited.
    const empty = await createKey({ rateLimits: { requestsPerMinute: null } }).expect(201);
    expect(empty.body.rateLimits).toBeNull();
    const one = await createKey({ rateLimits: { tokensPerMinute: 5 } }).expect(201);
    expect(one.body.rateLimits).toEqual({ tokensPerMinute: 5 });
  });

  it('changes them with PATCH (audited with the old value) and removes them with null', async () => {
    const { id } = (await createKey({ rateLimits: { requestsPerMinute: 10 } }).expect(201)).body;
    const patched = await t.http
      .patch(`${keysOf(tenant.id)}/${id}`)
      .set(bearer(admin))
      .send({ rateLimits: { tokensPerMinute: 1_000_000_000 } })
      .expect(200);
    expect(patched.body).toMatchObject({
      id,
      status: 'active',
      rateLimits: { tokensPerMinute: 1_000_000_000 },
    });
    expect(await t.app.get(ApiKeyService).rateLimitsOf(asTenantId(tenant.id), id)).toEqual({
      tokensPerMinute: 1_000_000_000,
    });
    const events = (
      await t.http
        .get(`/v1/tenants/${tenant.id}/audit/events?limit=100&order=asc`)
        .set(bearer(platformAdminKey()))
        .expect(200)
    ).body.data as { resource?: { id?: string }; changes?: { before?: unknown } }[];
    const update = events.find(
      (e) =>
        e.resource?.id === id && JSON.stringify(e.changes?.before ?? {}).includes('rateLimits'),
    );
    expect(update?.changes?.before).toMatchObject({ rateLimits: { requestsPerMinute: 10 } });

    const removed = await t.http
      .patch(`${keysOf(tenant.id)}/${id}`)
      .set(bearer(admin))
      .send({ rateLimits: null })
      .expect(200);
    expect(removed.body.rateLimits).toBeNull();
  });

  it('refuses bad limits with field paths (400 problem+json), changing nothing', async () => {
    const { id } = (await createKey({ rateLimits: { requestsPerMinute: 10 } }).expect(201)).body;
    const cases: [Record<string, unknown>, string][] = [
      [{ rateLimits: { requestsPerMinute: 0 } }, 'rateLimits.requestsPerMinute'],
      [{ rateLimits: { requestsPerMinute: 1_000_001 } }, 'rateLimits.requestsPerMinute'],
      [{ rateLimits: { requestsPerMinute: 1.5 } }, 'rateLimits.requestsPerMinute'],
      [{ rateLimits: { requestsPerMinute: '10' } }, 'rateLimits.requestsPerMinute'],
      [{ rateLimits: { tokensPerMinute: 1_000_000_001 } }, 'rateLimits.tokensPerMinute'],
      [{ rateLimits: { tokensPerMinute: -1 } }, 'rateLimits.tokensPerMinute'],
      [{ rateLimits: { perSecond: 5 } }, 'rateLimits.perSecond'],
      [{ rateLimits: [600] }, 'rateLimits'],
      [{ rateLimits: 600 }, 'rateLimits'],
      [{}, 'rateLimits'],
    ];
    for (const [body, path] of cases) {
      const patch = await t.http
        .patch(`${keysOf(tenant.id)}/${id}`)
        .set(bearer(admin))
        .send(body)
        .expect(400);
      expect(patch.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(patch.body).toMatchObject({ code: 'validation_failed' });
      expect(patch.body.errors.map((e: { path: string }) => e.path)).toContain(path);
      if (Object.keys(body).length === 0) continue;
      const create = await createKey(body).expect(400);
      expect(create.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const got = await t.http
      .get(`${keysOf(tenant.id)}/${id}`)
      .set(bearer(admin))
      .expect(200);
    expect(got.body.rateLimits).toEqual({ requestsPerMinute: 10 });
  });

  it("answers 404 for another tenant's key (either path), 403 to a viewer, 409 for a revoked key", async () => {
    const { id } = (await createKey({}).expect(201)).body;
    const otherAdmin = (await signIn(t, ['tenant_admin'], other.id)).token;
    const body = { rateLimits: { requestsPerMinute: 1 } };
    await t.http
      .patch(`${keysOf(other.id)}/${id}`)
      .set(bearer(otherAdmin))
      .send(body)
      .expect(404);
    await t.http
      .patch(`${keysOf(tenant.id)}/${id}`)
      .set(bearer(otherAdmin))
      .send(body)
      .expect(404);
    const viewer = await createTenantKey(t, tenant.id, ['viewer']);
    await t.http
      .patch(`${keysOf(tenant.id)}/${id}`)
      .set(bearer(viewer.key))
      .send(body)
      .expect(403);
    await t.http
      .post(`${keysOf(tenant.id)}/${id}/revoke`)
      .set(bearer(admin))
      .expect(200);
    const revoked = await t.http
      .patch(`${keysOf(tenant.id)}/${id}`)
      .set(bearer(admin))
      .send(body)
      .expect(409);
    expect(revoked.body).toMatchObject({ code: 'api_key_revoked' });
  });

  it('lets platform admins set limits on platform keys, and only them', async () => {
    const staff = bearer(platformAdminKey());
    const created = await t.http
      .post('/v1/platform/api-keys')
      .set(staff)
      .send({ name: 'ingest', scopes: ['usage:write'], rateLimits: { requestsPerMinute: 60 } })
      .expect(201);
    expect(created.body.rateLimits).toEqual({ requestsPerMinute: 60 });
    const patched = await t.http
      .patch(`/v1/platform/api-keys/${created.body.id}`)
      .set(staff)
      .send({ rateLimits: { requestsPerMinute: 120 } })
      .expect(200);
    expect(patched.body.rateLimits).toEqual({ requestsPerMinute: 120 });
    await t.http
      .patch(`/v1/platform/api-keys/${created.body.id}`)
      .set(bearer(admin))
      .send({ rateLimits: null })
      .expect(404);
  });
});
