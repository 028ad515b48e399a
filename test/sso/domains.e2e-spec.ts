import { bearer, createTenant, signIn, TestApp, TestDnsServer, TestTenant } from '@app/testing';
import { startApi } from '../support/api';
import { onboard, verifiedDomain } from './support/sso-fixture';

describe('verified domains and home-realm discovery', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  let tenant: TestTenant;
  let admin: string;

  beforeAll(async () => {
    dns = await new TestDnsServer().start();
    t = await startApi({ env: { DNS_RESOLVERS: dns.address } });
    tenant = await createTenant(t);
    admin = (await signIn(t, ['tenant_admin'], tenant.id)).token;
  });
  afterAll(async () => {
    await t.close();
    await dns.stop();
  });

  const domains = (tenantId = tenant.id) => `/v1/tenants/${tenantId}/domains`;

  it('verifies a domain once its DNS TXT record carries the token', async () => {
    const domain = `${tenant.slug}.Example.COM.`;
    const claimed = await t.http.post(domains()).set(bearer(admin)).send({ domain }).expect(201);
    const name = `_cp-verification.${tenant.slug}.example.com`;
    expect(claimed.body).toMatchObject({
      domain: `${tenant.slug}.example.com`,
      status: 'pending',
      txtRecordName: name,
      txtRecordValue: expect.stringMatching(/^cp-verification=[A-Za-z0-9_-]{32}$/),
      verifiedAt: null,
    });
    const verify = () => t.http.post(`${domains()}/${claimed.body.id}/verify`).set(bearer(admin));

    const missing = await verify().expect(422);
    expect(missing.body).toMatchObject({ code: 'domain_verification_failed' });
    expect(missing.body.detail).toContain('no TXT record');

    dns.publishTxt(name, 'cp-verification=someone-else');
    const wrong = await verify().expect(422);
    expect(wrong.body.detail).toContain("do not include this domain's token");

    // A long value may be split into several character-strings; resolvers join them.
    const value = claimed.body.txtRecordValue as string;
    dns.publishTxt(name, value.slice(0, 10), value.slice(10));
    const ok = await verify().expect(200);
    expect(ok.body).toMatchObject({ status: 'verified', verifiedAt: expect.any(String) });

    const audit = await t.http
      .get(`/v1/tenants/${tenant.id}/audit/events`)
      .query({ action: 'sso_domain.verify', resourceId: claimed.body.id, order: 'asc' })
      .set(bearer(admin))
      .expect(200);
    expect(
      audit.body.data.map((e: { outcome: string; reason: string | null }) => [e.outcome, e.reason]),
    ).toEqual([
      ['failure', expect.stringMatching(/domain_verification_failed: DNS has no TXT record/)],
      ['failure', expect.stringMatching(/domain_verification_failed: .*do not include/)],
      ['success', null],
    ]);
  });

  it('refuses a domain already verified by another tenant (409 domain_taken)', async () => {
    const owner = await createTenant(t);
    const ownerAdmin = (await signIn(t, ['tenant_admin'], owner.id)).token;
    const domain = `${owner.slug}.shared.example`;
    await verifiedDomain(t, dns, owner.id, ownerAdmin, domain);
    const claimed = await t.http.post(domains()).set(bearer(admin)).send({ domain }).expect(201);
    dns.publishTxt(claimed.body.txtRecordName, claimed.body.txtRecordValue);
    const res = await t.http
      .post(`${domains()}/${claimed.body.id}/verify`)
      .set(bearer(admin))
      .expect(409);
    expect(res.body.code).toBe('domain_taken');
  });

  it.each(['not a domain', 'localhost', '-bad.example', 'a'.repeat(64) + '.example', ''])(
    'refuses the domain %j with a field error',
    async (domain) => {
      const res = await t.http.post(domains()).set(bearer(admin)).send({ domain }).expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'domain' })]);
    },
  );

  it("answers 404 for another tenant's domain and 403 for non-admins", async () => {
    const claimed = await t.http
      .post(domains())
      .set(bearer(admin))
      .send({ domain: `${tenant.slug}.private.example` })
      .expect(201);
    const other = await createTenant(t);
    const otherAdmin = (await signIn(t, ['tenant_admin'], other.id)).token;
    await t.http.get(`${domains()}/${claimed.body.id}`).set(bearer(otherAdmin)).expect(404);
    await t.http.post(`${domains()}/${claimed.body.id}/verify`).set(bearer(otherAdmin)).expect(404);
    await t.http.delete(`${domains()}/${claimed.body.id}`).set(bearer(otherAdmin)).expect(404);
    await t.http
      .get(`${domains(other.id)}/${claimed.body.id}`)
      .set(bearer(otherAdmin))
      .expect(404);
    const viewer = (await signIn(t, ['viewer'], tenant.id)).token;
    await t.http.post(domains()).set(bearer(viewer)).send({ domain: 'x.example' }).expect(403);
    await t.http.delete(`${domains()}/${claimed.body.id}`).set(bearer(admin)).expect(204);
  });

  describe('POST /sso/discover', () => {
    it("answers the login URL of the tenant that verified the email's domain", async () => {
      const sso = await onboard(t, dns, 'okta');
      const res = await t.http
        .post('/sso/discover')
        .send({ email: `Someone@${sso.domain.toUpperCase()}` })
        .expect(200);
      expect(res.body).toEqual({
        loginUrl: `${t.config.PUBLIC_URL}/sso/saml/${sso.tenant.slug}/login`,
      });
    });

    it('answers 404 sso_not_configured for an unknown domain, or one without an enabled connection', async () => {
      const unknown = await t.http
        .post('/sso/discover')
        .send({ email: 'a@nobody.example' })
        .expect(404);
      expect(unknown.body.code).toBe('sso_not_configured');
      const bare = await createTenant(t);
      const bareAdmin = (await signIn(t, ['tenant_admin'], bare.id)).token;
      await verifiedDomain(t, dns, bare.id, bareAdmin, `${bare.slug}.bare.example`);
      await t.http
        .post('/sso/discover')
        .send({ email: `a@${bare.slug}.bare.example` })
        .expect(404);
    });

    it.each([{}, { email: 'not-an-email' }, { email: 42 }])('refuses %j with 400', async (body) => {
      const res = await t.http.post('/sso/discover').send(body).expect(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: 'email' })]),
      );
    });
  });
});
