import {
  bearer,
  createTenant,
  makeKeyAndCertificate,
  signIn,
  TestApp,
  TestIdp,
  TestTenant,
} from '@app/testing';
import { X509Certificate } from 'node:crypto';
import { startApi } from '../support/api';

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('SAML connections', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;
  let admin: string;
  let otherAdmin: string;
  let engineer: string;
  let officer: string;

  beforeAll(async () => {
    t = await startApi();
    tenant = await createTenant(t);
    other = await createTenant(t);
    admin = (await signIn(t, ['tenant_admin'], tenant.id)).token;
    engineer = (await signIn(t, ['ml_engineer'], tenant.id)).token;
    officer = (await signIn(t, ['compliance_officer'], tenant.id)).token;
    otherAdmin = (await signIn(t, ['tenant_admin'], other.id)).token;
  });
  afterAll(() => t.close());

  const base = (tenantId = tenant.id) => `/v1/tenants/${tenantId}/sso/saml-connections`;
  const create = (body: Record<string, unknown>, token = admin) =>
    t.http.post(base()).set(bearer(token)).send(body);

  it('creates a disabled connection from IdP metadata, never trusting its encryption-only certificate', async () => {
    const idp = new TestIdp('okta');
    const res = await create({ name: 'Okta', metadataXml: idp.metadataXml() }).expect(201);
    expect(res.body).toMatchObject({
      name: 'Okta',
      status: 'disabled',
      idpEntityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      ssoBinding: 'redirect',
      attributeMapping: { preset: 'okta', email: 'email', userKey: 'email', groups: 'groups' },
      roleRules: [],
      defaultRole: null,
      allowIdpInitiated: false,
      serviceProvider: {
        entityId: `${t.config.PUBLIC_URL}/sso/saml/${tenant.slug}/metadata`,
        acsUrl: `${t.config.PUBLIC_URL}/sso/saml/${tenant.slug}/acs`,
      },
    });
    expect(res.body.certificates.map((c: { fingerprint: string }) => c.fingerprint)).toEqual([
      fingerprint(idp.signing.certificatePem),
    ]);
    expect(JSON.stringify(res.body)).not.toContain(fingerprint(idp.encryption.certificatePem));
    expect(JSON.stringify(res.body)).not.toContain('BEGIN CERTIFICATE');

    const audit = await t.http
      .get(`/v1/tenants/${tenant.id}/audit/events`)
      .query({ action: 'saml_connection.create', resourceId: res.body.id })
      .set(bearer(admin))
      .expect(200);
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0].changes.after).toMatchObject({
      id: res.body.id,
      idpEntityId: idp.entityId,
    });
  });

  it('takes several signing certificates from fields, showing expiry and warning before it', async () => {
    const current = makeKeyAndCertificate('current');
    const soon = makeKeyAndCertificate('soon', {
      notAfter: new Date(Date.now() + 10 * 86_400_000),
    });
    const expired = makeKeyAndCertificate('expired', {
      notBefore: new Date(Date.now() - 400 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const res = await create({
      name: 'Rollover',
      idpEntityId: 'https://idp.example/entity',
      ssoUrl: 'https://idp.example/sso',
      certificates: [current.certificatePem, soon.certificatePem, expired.certificatePem],
      attributeMapping: { preset: 'entra' },
    }).expect(201);
    expect(res.body.certificates).toEqual([
      expect.objectContaining({
        fingerprint: fingerprint(current.certificatePem),
        expired: false,
        expiresSoon: false,
      }),
      expect.objectContaining({
        fingerprint: fingerprint(soon.certificatePem),
        expired: false,
        expiresSoon: true,
      }),
      expect.objectContaining({
        fingerprint: fingerprint(expired.certificatePem),
        expired: true,
        expiresSoon: false,
      }),
    ]);
    expect(res.body.warnings).toEqual([
      expect.stringMatching(/expires on .* \(in 9 days\)/),
      expect.stringMatching(/expired on/),
    ]);
    expect(res.body.attributeMapping.userKey).toBe(
      'http://schemas.microsoft.com/identity/claims/objectidentifier',
    );
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['garbage metadata', { name: 'x', metadataXml: 'not xml <' }, ['metadataXml']],
    [
      'metadata with a DOCTYPE',
      {
        name: 'x',
        metadataXml: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
      },
      ['metadataXml'],
    ],
    [
      'SP metadata instead of IdP metadata',
      {
        name: 'x',
        metadataXml:
          '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="sp"><SPSSODescriptor/></EntityDescriptor>',
      },
      ['metadataXml'],
    ],
    ['no IdP fields', { name: 'x' }, ['idpEntityId', 'ssoUrl', 'certificates']],
    [
      'a certificate that is not one',
      {
        name: 'x',
        idpEntityId: 'e',
        ssoUrl: 'https://idp.example/sso',
        certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'],
      },
      ['certificates[0]'],
    ],
    [
      'metadataXml together with fields',
      { name: 'x', metadataXml: '<x/>', ssoUrl: 'https://idp.example/sso' },
      ['ssoUrl'],
    ],
    ['a bad SSO URL', { name: 'x', ssoUrl: 'ftp://idp' }, ['ssoUrl']],
    [
      'an unknown preset',
      { name: 'x', attributeMapping: { preset: 'okta2' } },
      ['attributeMapping.preset'],
    ],
    [
      'a role rule with a platform role',
      { name: 'x', roleRules: [{ group: 'g', role: 'platform_admin' }] },
      ['roleRules[0].role'],
    ],
    ['a blank name', { name: ' ', metadataXml: '<x/>' }, ['name']],
  ])('refuses %s with 400 and field errors', async (_what, body, paths) => {
    const res = await create(body).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    for (const path of paths) {
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    }
  });

  it('refuses a custom mapping without email and user key', async () => {
    const idp = new TestIdp('google');
    const res = await create({
      name: 'custom',
      metadataXml: idp.metadataXml(),
      attributeMapping: { preset: 'custom', groups: 'memberOf' },
    }).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'attributeMapping.email',
      'attributeMapping.userKey',
    ]);
  });

  it('updates, enables one connection at a time, disables, tests and deletes; each audited', async () => {
    const first = (
      await create({ name: 'A', metadataXml: new TestIdp('okta').metadataXml() }).expect(201)
    ).body;
    const second = (
      await create({ name: 'B', metadataXml: new TestIdp('google').metadataXml() }).expect(201)
    ).body;
    const updated = await t.http
      .patch(`${base()}/${first.id}`)
      .set(bearer(admin))
      .send({
        roleRules: [{ group: 'ml-team', role: 'ml_engineer' }],
        defaultRole: 'viewer',
        attributeMapping: { preset: 'google' },
      })
      .expect(200);
    expect(updated.body).toMatchObject({
      roleRules: [{ group: 'ml-team', role: 'ml_engineer' }],
      defaultRole: 'viewer',
      attributeMapping: { preset: 'google', email: 'nameID', userKey: 'nameID' },
    });
    await t.http.patch(`${base()}/${first.id}`).set(bearer(admin)).send({}).expect(400);

    // A plain-http IdP SSO URL may be saved (and reported by /test) but never enabled.
    const plain = await create({
      name: 'Plain http',
      idpEntityId: 'https://idp.example/plain',
      ssoUrl: 'http://idp.example/sso',
      certificates: [makeKeyAndCertificate('plain').certificatePem],
    }).expect(201);
    const refused = await t.http
      .post(`${base()}/${plain.body.id}/enable`)
      .set(bearer(admin))
      .expect(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'ssoUrl' })]);
    await t.http.delete(`${base()}/${plain.body.id}`).set(bearer(admin)).expect(204);

    await t.http.post(`${base()}/${first.id}/enable`).set(bearer(admin)).expect(200);
    const clash = await t.http.post(`${base()}/${second.id}/enable`).set(bearer(admin)).expect(409);
    expect(clash.body).toMatchObject({
      code: 'saml_connection_already_enabled',
      enabledConnectionId: first.id,
    });

    const test = await t.http.post(`${base()}/${first.id}/test`).set(bearer(admin)).expect(200);
    expect(test.body.checks.map((c: { name: string }) => c.name)).toEqual([
      'certificates',
      'verified_domain',
      'roles',
      'sso_url',
      'authn_request',
    ]);
    expect(test.body.ok).toBe(false); // no verified domain yet
    expect(test.body.authnRequestUrl).toMatch(/SAMLRequest=/);

    await t.http.post(`${base()}/${first.id}/disable`).set(bearer(admin)).expect(200);
    await t.http.post(`${base()}/${second.id}/enable`).set(bearer(admin)).expect(200);
    await t.http.delete(`${base()}/${second.id}`).set(bearer(admin)).expect(204);
    await t.http.get(`${base()}/${second.id}`).set(bearer(admin)).expect(404);

    const audit = await t.http
      .get(`/v1/tenants/${tenant.id}/audit/events`)
      .query({ action: 'saml_connection', resourceId: first.id, order: 'asc' })
      .set(bearer(admin))
      .expect(200);
    expect(audit.body.data.map((e: { action: string }) => e.action)).toEqual([
      'saml_connection.create',
      'saml_connection.update',
      'saml_connection.update', // the empty change, refused
      'saml_connection.enable',
      'saml_connection.test',
      'saml_connection.disable',
    ]);
    expect(audit.body.data[2].outcome).toBe('failure');
    expect(audit.body.data[1].changes.before.defaultRole).toBeNull();
    expect(audit.body.data[1].changes.after.defaultRole).toBe('viewer');
  });

  it('refuses a field sent as null with 400 naming it (never "unset", never a 500) and keeps the connection', async () => {
    const { id } = (
      await create({
        name: 'Nulls',
        metadataXml: new TestIdp('okta').metadataXml(),
        roleRules: [{ group: 'ml-team', role: 'ml_engineer' }],
      }).expect(201)
    ).body;
    for (const field of ['name', 'roleRules', 'attributeMapping', 'certificates', 'ssoUrl']) {
      const res = await t.http
        .patch(`${base()}/${id}`)
        .set(bearer(admin))
        .send({ [field]: null })
        .expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    const unchanged = await t.http.get(`${base()}/${id}`).set(bearer(admin)).expect(200);
    expect(unchanged.body).toMatchObject({
      name: 'Nulls',
      roleRules: [{ group: 'ml-team', role: 'ml_engineer' }],
    });
  });

  it("answers 404 for another tenant's connection, on every route", async () => {
    const mine = (
      await create({ name: 'mine', metadataXml: new TestIdp('okta').metadataXml() }).expect(201)
    ).body;
    const theirs = `${base(tenant.id)}/${mine.id}`;
    await t.http.get(theirs).set(bearer(otherAdmin)).expect(404);
    await t.http.patch(theirs).set(bearer(otherAdmin)).send({ name: 'x' }).expect(404);
    await t.http.delete(theirs).set(bearer(otherAdmin)).expect(404);
    await t.http.post(`${theirs}/enable`).set(bearer(otherAdmin)).expect(404);
    // Through their own tenant's path, the id names nothing either.
    await t.http
      .get(`${base(other.id)}/${mine.id}`)
      .set(bearer(otherAdmin))
      .expect(404);
    await t.http
      .get(`${base(other.id)}/not-a-uuid`)
      .set(bearer(otherAdmin))
      .expect(404);
  });

  it('lets compliance officers read but not change; ML engineers neither', async () => {
    await t.http.get(base()).set(bearer(officer)).expect(200);
    await create({ name: 'x', metadataXml: new TestIdp('okta').metadataXml() }, officer).expect(
      403,
    );
    await t.http.get(base()).set(bearer(engineer)).expect(403);
  });
});
