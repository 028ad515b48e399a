import { TenantDb } from '@app/authz';
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

const HOOK = 'https://hooks.example.test/control-plane';

describe('webhook endpoints', () => {
  /** Allows http and private addresses (as the delivery tests need); the shape rules still hold. */
  let t: TestApp;
  /** The defaults: https only, public addresses only. */
  let strict: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;
  let admin: string;
  let otherAdmin: string;

  beforeAll(async () => {
    t = await startApi({
      captureLogs: true,
      env: { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    strict = await startApi();
    tenant = await createTenant(t);
    other = await createTenant(t);
    admin = (await signIn(t, ['tenant_admin'], tenant.id)).token;
    otherAdmin = (await signIn(t, ['tenant_admin'], other.id)).token;
  });
  afterAll(async () => {
    await strict.close();
    await t.close();
  });

  const endpointsOf = (tenantId: string) => `/v1/tenants/${tenantId}/webhook-endpoints`;
  const create = (body: Record<string, unknown>, app = t, token = admin) =>
    app.http.post(endpointsOf(tenant.id)).set(bearer(token)).send(body);

  it('shows the whsec_ secret once, at creation: never in GET, lists, the audit log, logs or the table', async () => {
    const res = await create({
      url: HOOK,
      description: 'alerts',
      eventTypes: ['quota.threshold_reached'],
    }).expect(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      url: HOOK,
      description: 'alerts',
      eventTypes: ['quota.threshold_reached'],
      status: 'enabled',
      secretRotatedAt: null,
    });
    const secret = res.body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    const key = secret.slice(6);

    const got = await t.http
      .get(`${endpointsOf(tenant.id)}/${res.body.id}`)
      .set(bearer(admin))
      .expect(200);
    expect(got.body).toEqual({ ...res.body, secret: undefined });
    expect(got.body).not.toHaveProperty('secret');
    const listed = await t.http.get(endpointsOf(tenant.id)).set(bearer(admin)).expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(key);

    const audit = await t.http
      .get(`/v1/tenants/${tenant.id}/audit/events?action=webhook_endpoint.create`)
      .set(bearer(admin))
      .expect(200);
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0].changes.after).toMatchObject({
      id: res.body.id,
      url: HOOK,
      secret: '[REDACTED]',
    });
    expect(JSON.stringify(audit.body)).not.toContain(key);
    expect(JSON.stringify(t.logs)).not.toContain(key);

    const [row]: { secret_ciphertext: Buffer }[] = await t.app
      .get(TenantDb)
      .asPlatform('test: read the stored secret', (m) =>
        m.query('SELECT secret_ciphertext FROM webhook_endpoints WHERE id = $1', [res.body.id]),
      );
    expect(row.secret_ciphertext.length).toBeGreaterThan(32);
    expect(row.secret_ciphertext.includes(Buffer.from(secret))).toBe(false);
    expect(row.secret_ciphertext.includes(Buffer.from(key, 'base64'))).toBe(false);
    expect(row.secret_ciphertext.toString('latin1')).not.toContain(key);
  });

  it('lists newest first, a page at a time, and refuses a forged cursor', async () => {
    const fresh = await createTenant(t);
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await t.http
        .post(endpointsOf(fresh.id))
        .set(bearer(platformAdminKey()))
        .send({ url: `${HOOK}/${n}`, eventTypes: ['webhook.test'] })
        .expect(201);
      ids.push(res.body.id);
    }
    const first = await t.http
      .get(`${endpointsOf(fresh.id)}?limit=2`)
      .set(bearer(platformAdminKey()))
      .expect(200);
    expect(first.body.data.map((e: { id: string }) => e.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await t.http
      .get(`${endpointsOf(fresh.id)}?limit=2&after=${first.body.nextCursor}`)
      .set(bearer(platformAdminKey()))
      .expect(200);
    expect(second.body).toEqual({
      data: [expect.objectContaining({ id: ids[0] })],
      nextCursor: null,
    });
    const forged = await t.http
      .get(`${endpointsOf(fresh.id)}?after=bm90LWEtY3Vyc29y`)
      .set(bearer(platformAdminKey()))
      .expect(400);
    expect(forged.body.errors).toEqual([{ path: 'after', message: expect.any(String) }]);
  });

  it('changes url, description, event types and status; refuses an empty change', async () => {
    const { body: created } = await create({ url: HOOK, eventTypes: ['webhook.test'] }).expect(201);
    const path = `${endpointsOf(tenant.id)}/${created.id}`;
    const patched = await t.http
      .patch(path)
      .set(bearer(admin))
      .send({
        url: `${HOOK}/v2`,
        description: 'second',
        eventTypes: ['sla.burn_rate_alert', 'quota.threshold_reached'],
        status: 'disabled',
      })
      .expect(200);
    expect(patched.body).toMatchObject({
      id: created.id,
      url: `${HOOK}/v2`,
      description: 'second',
      eventTypes: ['sla.burn_rate_alert', 'quota.threshold_reached'],
      status: 'disabled',
    });
    expect(patched.body).not.toHaveProperty('secret');
    expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(
      Date.parse(created.updatedAt),
    );
    const cleared = await t.http
      .patch(path)
      .set(bearer(admin))
      .send({ description: null, status: 'enabled' })
      .expect(200);
    expect(cleared.body).toMatchObject({ description: null, status: 'enabled' });

    const empty = await t.http.patch(path).set(bearer(admin)).send({}).expect(400);
    expect(empty.body).toMatchObject({ code: 'validation_failed', errors: [{ path: '(body)' }] });
    const audit = await t.http
      .get(
        `/v1/tenants/${tenant.id}/audit/events?action=webhook_endpoint.update&resourceId=${created.id}`,
      )
      .set(bearer(admin))
      .expect(200);
    const befores = audit.body.data
      .filter((e: { outcome: string }) => e.outcome === 'success')
      .map((e: { changes: { before: unknown } }) => e.changes.before);
    expect(befores).toContainEqual(
      expect.objectContaining({ url: `${HOOK}/v2`, status: 'disabled' }),
    );
  });

  it('rotates the secret: a new one, shown once, and the old one is gone', async () => {
    const { body: created } = await create({ url: HOOK, eventTypes: ['webhook.test'] }).expect(201);
    const rotated = await t.http
      .post(`${endpointsOf(tenant.id)}/${created.id}/rotate-secret`)
      .set(bearer(admin))
      .expect(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    expect(rotated.body).toMatchObject({ id: created.id, url: HOOK });
    expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotated.body.secret).not.toBe(created.secret);
    expect(Date.parse(rotated.body.secretRotatedAt)).toBeGreaterThan(Date.now() - 60_000);
    const got = await t.http
      .get(`${endpointsOf(tenant.id)}/${created.id}`)
      .set(bearer(admin))
      .expect(200);
    expect(got.body).not.toHaveProperty('secret');
    expect(got.body.secretRotatedAt).toBe(rotated.body.secretRotatedAt);
    const audit = await t.http
      .get(`/v1/tenants/${tenant.id}/audit/events?action=webhook_endpoint.rotate`)
      .set(bearer(admin))
      .expect(200);
    expect(JSON.stringify(audit.body)).not.toContain(rotated.body.secret.slice(6));
    expect(JSON.stringify(t.logs)).not.toContain(rotated.body.secret.slice(6));
    await t.http
      .post(`${endpointsOf(tenant.id)}/${created.id}/rotate-secret`)
      .set(bearer(admin))
      .send({ secret: 'mine' })
      .expect(400);
  });

  it('deletes an endpoint with its deliveries; then it is not found', async () => {
    const { body: created } = await create({ url: HOOK, eventTypes: ['webhook.test'] }).expect(201);
    const path = `${endpointsOf(tenant.id)}/${created.id}`;
    await t.http.post(`${path}/test`).set(bearer(admin)).expect(202);
    await t.http.delete(path).set(bearer(admin)).expect(204);
    await t.http.get(path).set(bearer(admin)).expect(404);
    await t.http.get(`${path}/deliveries`).set(bearer(admin)).expect(404);
    await t.http.delete(path).set(bearer(admin)).expect(404);
    const [{ n }]: { n: number }[] = await t.app
      .get(TenantDb)
      .asPlatform('test: count deliveries', (m) =>
        m.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1', [
          created.id,
        ]),
      );
    expect(n).toBe(0);
  });

  it('queues a test delivery (202) that the deliveries list shows; refuses a disabled endpoint (409)', async () => {
    const { body: created } = await create({
      url: HOOK,
      eventTypes: ['quota.threshold_reached'],
    }).expect(201);
    const path = `${endpointsOf(tenant.id)}/${created.id}`;
    const queued = await t.http.post(`${path}/test`).set(bearer(admin)).expect(202);
    expect(queued.body).toMatchObject({
      endpointId: created.id,
      eventType: 'webhook.test',
      status: 'pending',
      attempts: 0,
      lastStatusCode: null,
      lastError: null,
      deliveredAt: null,
    });
    const list = await t.http.get(`${path}/deliveries`).set(bearer(admin)).expect(200);
    expect(list.body).toEqual({ data: [queued.body], nextCursor: null });
    await t.http.patch(path).set(bearer(admin)).send({ status: 'disabled' }).expect(200);
    const refused = await t.http.post(`${path}/test`).set(bearer(admin)).expect(409);
    expect(refused.body.code).toBe('webhook_endpoint_disabled');
    // Left disabled: the delivery above is never sent (see the delivery tests).
  });

  it("answers 404 for another tenant's endpoint on every route, and for malformed ids", async () => {
    const { body: created } = await create({ url: HOOK, eventTypes: ['webhook.test'] }).expect(201);
    const theirs = `${endpointsOf(tenant.id)}/${created.id}`;
    const viaOwnPath = `${endpointsOf(other.id)}/${created.id}`;
    for (const [token, path] of [
      [otherAdmin, theirs],
      [otherAdmin, viaOwnPath],
      [platformAdminKey(), viaOwnPath],
      [admin, `${endpointsOf(tenant.id)}/not-a-uuid`],
    ] as const) {
      for (const res of [
        await t.http.get(path).set(bearer(token)),
        await t.http.patch(path).set(bearer(token)).send({ description: 'x' }),
        await t.http.delete(path).set(bearer(token)),
        await t.http.post(`${path}/rotate-secret`).set(bearer(token)),
        await t.http.post(`${path}/test`).set(bearer(token)),
        await t.http.get(`${path}/deliveries`).set(bearer(token)),
      ]) {
        expect([res.status, res.body.code]).toEqual([404, 'not_found']);
      }
    }
    await t.http.get(endpointsOf(tenant.id)).set(bearer(otherAdmin)).expect(404);
    // Still there, unchanged, with its secret.
    const got = await t.http.get(theirs).set(bearer(admin)).expect(200);
    expect(got.body.description).toBeNull();
  });

  it('lets compliance officers read but not change; ML engineers and viewers get 403', async () => {
    const { body: created } = await create({ url: HOOK, eventTypes: ['webhook.test'] }).expect(201);
    const path = `${endpointsOf(tenant.id)}/${created.id}`;
    const officer = (await createTenantKey(t, tenant.id, ['compliance_officer'])).key;
    await t.http.get(path).set(bearer(officer)).expect(200);
    await t.http.get(`${path}/deliveries`).set(bearer(officer)).expect(200);
    await t.http.patch(path).set(bearer(officer)).send({ description: 'x' }).expect(403);
    await t.http.post(`${path}/test`).set(bearer(officer)).expect(403);
    for (const role of ['ml_engineer', 'viewer'] as const) {
      const key = (await createTenantKey(t, tenant.id, [role])).key;
      await t.http.get(endpointsOf(tenant.id)).set(bearer(key)).expect(403);
      const res = await create({ url: HOOK, eventTypes: ['webhook.test'] }, t, key).expect(403);
      expect(res.body.code).toBe('missing_permission');
    }
  });

  describe('refuses bad input with field errors (400 validation_failed), never a 500', () => {
    it.each([
      ['a missing url', { eventTypes: ['webhook.test'] }, 'url'],
      ['a url that is not a URL', { url: 'not a url', eventTypes: ['webhook.test'] }, 'url'],
      ['a relative url', { url: '/hooks', eventTypes: ['webhook.test'] }, 'url'],
      [
        'a url of another scheme',
        { url: 'ftp://example.test/x', eventTypes: ['webhook.test'] },
        'url',
      ],
      [
        'a url with credentials',
        { url: 'https://me:pw@example.test/x', eventTypes: ['webhook.test'] },
        'url',
      ],
      [
        'a url over 2048 characters',
        { url: `https://example.test/${'a'.repeat(2040)}`, eventTypes: ['webhook.test'] },
        'url',
      ],
      ['a url that is not a string', { url: 42, eventTypes: ['webhook.test'] }, 'url'],
      [
        'an unknown event type',
        { url: HOOK, eventTypes: ['quota.threshold_reached', 'user.created'] },
        'eventTypes',
      ],
      ['empty eventTypes', { url: HOOK, eventTypes: [] }, 'eventTypes'],
      ['missing eventTypes', { url: HOOK }, 'eventTypes'],
      ['eventTypes that is not a list', { url: HOOK, eventTypes: 'webhook.test' }, 'eventTypes'],
      [
        'a repeated event type',
        { url: HOOK, eventTypes: ['webhook.test', 'webhook.test'] },
        'eventTypes',
      ],
      [
        'a description over 500 characters',
        { url: HOOK, eventTypes: ['webhook.test'], description: 'x'.repeat(501) },
        'description',
      ],
      [
        'an unknown field',
        { url: HOOK, eventTypes: ['webhook.test'], secret: 'whsec_mine' },
        'secret',
      ],
    ])('%s', async (_name, body, path) => {
      const res = await create(body).expect(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors).toEqual(
        expect.arrayContaining([{ path, message: expect.any(String) }]),
      );
    });

    it('the same rules on PATCH, and null where a value is required', async () => {
      const { body: created } = await create({ url: HOOK, eventTypes: ['webhook.test'] }).expect(
        201,
      );
      const path = `${endpointsOf(tenant.id)}/${created.id}`;
      for (const [body, field] of [
        [{ url: 'https://me@example.test/' }, 'url'],
        [{ url: null }, 'url'],
        [{ eventTypes: [] }, 'eventTypes'],
        [{ eventTypes: null }, 'eventTypes'],
        [{ eventTypes: ['nope'] }, 'eventTypes'],
        [{ status: 'paused' }, 'status'],
        [{ status: null }, 'status'],
      ] as const) {
        const res = await t.http.patch(path).set(bearer(admin)).send(body).expect(400);
        expect(res.body.errors).toEqual(
          expect.arrayContaining([{ path: field, message: expect.any(String) }]),
        );
      }
    });

    it('requires https unless WEBHOOK_ALLOW_HTTP', async () => {
      const res = await create(
        { url: 'http://1.1.1.1/hook', eventTypes: ['webhook.test'] },
        strict,
      ).expect(400);
      expect(res.body.errors).toEqual([{ path: 'url', message: 'url must use https' }]);
    });

    it.each([
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://10.0.0.8/hook',
      'https://192.168.1.20:8443/hook',
      'https://172.20.0.1/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[fd00::1]/hook',
      'https://[::ffff:10.0.0.1]/hook',
      'https://2130706433/hook',
    ])('refuses %s (a non-public address) unless WEBHOOK_ALLOW_PRIVATE_NETWORKS', async (url) => {
      const res = await create({ url, eventTypes: ['webhook.test'] }, strict).expect(400);
      expect(res.body.errors).toEqual([
        { path: 'url', message: expect.stringMatching(/non-public/) },
      ]);
    });

    it('checks a changed url too', async () => {
      const { body: created } = await create(
        { url: 'https://1.1.1.1/hook', eventTypes: ['webhook.test'] },
        strict,
      ).expect(201);
      const path = `${endpointsOf(tenant.id)}/${created.id}`;
      const res = await strict.http
        .patch(path)
        .set(bearer(admin))
        .send({ url: 'https://10.1.1.1/hook' })
        .expect(400);
      expect(res.body.errors).toEqual([
        { path: 'url', message: expect.stringMatching(/non-public/) },
      ]);
      // Never left pointing at a real address: no delivery was or will be queued for it.
      await strict.http.delete(path).set(bearer(admin)).expect(204);
    });
  });
});
