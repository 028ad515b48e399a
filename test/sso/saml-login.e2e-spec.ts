import {
  assertionOf,
  b64,
  bearer,
  IdpUser,
  makeKeyAndCertificate,
  ResponseOptions,
  signAssertionOf,
  signResponseOf,
  TestApp,
  TestDnsServer,
  TestIdp,
  wrapSignedAssertion,
} from '@app/testing';
import { startApi } from '../support/api';
import {
  expectRefused,
  expectSignedIn,
  loginEvents,
  onboard,
  postToAcs,
  setCookieOf,
  solicitedResponse,
  SsoTenant,
  startLogin,
} from './support/sso-fixture';

/**
 * SAML sign-in against an independent IdP (libs/testing `TestIdp`, on samlify): what must be
 * refused is refused, with its reason in the tenant's audit log, and what must work works.
 */
describe('SAML sign-in', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  let okta: SsoTenant;
  let google: SsoTenant;
  let entra: SsoTenant;

  beforeAll(async () => {
    dns = await new TestDnsServer().start();
    t = await startApi({ env: { DNS_RESOLVERS: dns.address } });
    [okta, google, entra] = await Promise.all([
      onboard(t, dns, 'okta'),
      onboard(t, dns, 'google'),
      onboard(t, dns, 'entra'),
    ]);
  });
  afterAll(async () => {
    await t.close();
    await dns.stop();
  });

  const alice = (sso: SsoTenant, groups = ['ml-team']) => ({
    email: `alice@${sso.domain}`,
    groups,
  });

  /** A valid SP-initiated response of `sso`'s IdP for `user`, with `options` changed. */
  const solicited = (
    sso: SsoTenant,
    options: Partial<ResponseOptions> = {},
    user: IdpUser = alice(sso),
  ) => solicitedResponse(t, sso, user, options);

  describe('refuses, with the reason in the audit log', () => {
    it('an unsigned response and assertion', async () => {
      await expectRefused(
        t,
        okta,
        await solicited(okta, { signAssertion: false, signResponse: false }),
        /^signature_invalid: /,
      );
    });

    it('an assertion signed by a certificate the connection does not hold', async () => {
      const stranger = makeKeyAndCertificate('stranger');
      await expectRefused(
        t,
        google,
        await solicited(google, { signWith: stranger }),
        /^signature_invalid: /,
      );
    });

    it('a signed response wrapping an unsigned assertion (assertions must be signed)', async () => {
      await expectRefused(
        t,
        okta,
        await solicited(okta, { signAssertion: false, signResponse: true }),
        /^signature_invalid: /,
      );
    });

    it.each(['extensions', 'advice'] as const)(
      'a signature-wrapping attack: the signed assertion moved into %s with a forged sibling',
      async (where) => {
        const request = await startLogin(t, google);
        const genuine = google.idp.responseXml(alice(google), {
          acsUrl: google.acsUrl,
          audience: google.audience,
          inResponseTo: request.id,
        });
        const attacked = wrapSignedAssertion(genuine, `mallory@${google.domain}`, where);
        expect(attacked).toContain(`mallory@${google.domain}`);
        await expectRefused(
          t,
          google,
          { samlResponse: b64(attacked), cookie: request.cookie },
          /^signature_invalid: /,
        );
      },
    );

    it('a signed response wrapped around a forged assertion placed in Extensions', async () => {
      // The response signature is genuine (Okta signs both); the attacker adds a forged,
      // unsigned assertion in Extensions, which must never be read.
      const request = await startLogin(t, okta);
      const genuine = okta.idp.responseXml(alice(okta), {
        acsUrl: okta.acsUrl,
        audience: okta.audience,
        inResponseTo: request.id,
      });
      const forged = assertionOf(genuine)
        .replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '')
        .replace(/alice@/g, 'mallory@');
      const attacked = genuine.replace(
        '</saml:Issuer>',
        `</saml:Issuer><samlp:Extensions>${forged}</samlp:Extensions>`,
      );
      await expectRefused(
        t,
        okta,
        { samlResponse: b64(attacked), cookie: request.cookie },
        /^signature_invalid: /,
      );
    });

    it('a response with two assertions', async () => {
      const request = await startLogin(t, google);
      const one = google.idp.responseXml(alice(google), {
        acsUrl: google.acsUrl,
        audience: google.audience,
        inResponseTo: request.id,
      });
      const second = assertionOf(
        google.idp.responseXml(
          { email: `mallory@${google.domain}`, groups: ['cp-admins'] },
          { acsUrl: google.acsUrl, audience: google.audience, inResponseTo: request.id },
        ),
      );
      const two = one.replace('</samlp:Response>', `${second}</samlp:Response>`);
      await expectRefused(
        t,
        google,
        { samlResponse: b64(two), cookie: request.cookie },
        /^multiple_assertions: /,
      );
    });

    it('an expired assertion', async () => {
      await expectRefused(
        t,
        google,
        await solicited(google, {
          notBefore: new Date(Date.now() - 20 * 60_000),
          notOnOrAfter: new Date(Date.now() - 10 * 60_000),
        }),
        /^assertion_expired: /,
      );
    });

    it('an assertion that is not yet valid', async () => {
      await expectRefused(
        t,
        google,
        await solicited(google, { notBefore: new Date(Date.now() + 10 * 60_000) }),
        /^assertion_not_yet_valid: /,
      );
    });

    it('an assertion at exactly NotOnOrAfter plus the allowed skew (exclusive)', async () => {
      // The unit spec (validity-window.spec.ts) pins the millisecond; here the whole path.
      const skew = t.config.SAML_CLOCK_SKEW_MS;
      await expectRefused(
        t,
        google,
        await solicited(google, {
          notBefore: new Date(Date.now() - 10 * 60_000),
          notOnOrAfter: new Date(Date.now() - skew),
        }),
        /^assertion_expired: /,
      );
    });

    it('an assertion whose audience is another SP', async () => {
      await expectRefused(
        t,
        okta,
        await solicited(okta, { audience: 'https://another-sp.example/metadata' }),
        /^audience_mismatch: .*another-sp/,
      );
    });

    it('an assertion without an audience', async () => {
      await expectRefused(
        t,
        okta,
        await solicited(okta, { audience: null }),
        /^audience_mismatch: .*no AudienceRestriction/,
      );
    });

    it('a response whose Destination is another ACS', async () => {
      await expectRefused(
        t,
        okta,
        await solicited(okta, { destination: 'https://evil.example/acs' }),
        /^wrong_destination: /,
      );
    });

    it('a response whose Recipient is another ACS', async () => {
      await expectRefused(
        t,
        okta,
        await solicited(okta, { recipient: 'https://evil.example/acs' }),
        /^wrong_recipient: /,
      );
    });

    it('an assertion issued by another IdP entity, even with a trusted key', async () => {
      const impostor = new TestIdp('okta', {
        signing: okta.idp.signing,
        entityId: 'http://evil.example/idp',
      });
      const request = await startLogin(t, okta);
      const response = await impostor.response(alice(okta), {
        acsUrl: okta.acsUrl,
        audience: okta.audience,
        inResponseTo: request.id,
      });
      await expectRefused(
        t,
        okta,
        { samlResponse: response, cookie: request.cookie },
        /^wrong_issuer: .*evil\.example/,
      );
    });

    it('a response to an AuthnRequest issued for another tenant', async () => {
      // The same IdP serves both tenants; the request was made at google's SP, not okta's.
      const shared = await onboard(t, dns, 'okta', { idp: okta.idp });
      const foreign = await startLogin(t, shared);
      const res = await okta.idp.response(alice(okta), {
        acsUrl: okta.acsUrl,
        audience: okta.audience,
        inResponseTo: foreign.id,
      });
      await expectRefused(t, okta, res, /^in_response_to_invalid: InResponseTo is not valid/);
    });

    it('a replayed assertion', async () => {
      const sso = await onboard(t, dns, 'google', { allowIdpInitiated: true });
      const response = await sso.idp.response(alice(sso), {
        acsUrl: sso.acsUrl,
        audience: sso.audience,
      });
      await expectSignedIn(t, sso, response);
      await expectRefused(t, sso, response, /^assertion_replayed: /);
    });

    it('a replayed SP-initiated response (its request id is spent)', async () => {
      const response = await solicited(google);
      await expectSignedIn(t, google, response);
      await expectRefused(t, google, response, /^in_response_to_invalid: /);
    });

    it('a comment inside the NameID: alice@corp<!---->.evil never becomes alice@corp', async () => {
      const reason = await expectRefused(
        t,
        google,
        await solicited(google, { nameIdXml: `eve@${google.domain}<!---->.evil.example` }),
        /^email_domain_not_verified: /,
        403,
      );
      expect(reason).toContain(`${google.domain}.evil.example is not a verified domain`);
    });

    it('XML with an external entity (never resolved)', async () => {
      const xml = google.idp
        .responseXml(alice(google), { acsUrl: google.acsUrl, audience: google.audience })
        .replace(`alice@${google.domain}`, '&xxe;');
      const withDtd = `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${xml}`;
      await expectRefused(t, google, b64(withDtd), /^dtd_refused: /);
    });

    it('an oversized SAMLResponse', async () => {
      const big = b64(
        `<samlp:Response>${'x'.repeat(t.config.SAML_MAX_RESPONSE_BYTES)}</samlp:Response>`,
      );
      await expectRefused(t, google, big, /^response_too_large: /, 413);
    });

    it('a body over BODY_LIMIT with 413 before anything is read', async () => {
      const res = await postToAcs(t, google, 'x'.repeat(t.config.BODY_LIMIT + 1));
      expect(res.status).toBe(413);
    });

    it('an email whose domain the tenant has not verified', async () => {
      await expectRefused(
        t,
        okta,
        await solicited(okta, {}, { email: 'alice@unverified.example', groups: ['ml-team'] }),
        /^email_domain_not_verified: unverified\.example/,
        403,
      );
    });

    it('an IdP-initiated response while IdP-initiated login is off', async () => {
      const response = await okta.idp.response(alice(okta), {
        acsUrl: okta.acsUrl,
        audience: okta.audience,
      });
      await expectRefused(t, okta, response, /^in_response_to_invalid: InResponseTo is missing/);
    });

    it('a person none of whose groups has a role, with a clear page', async () => {
      const { samlResponse, cookie } = await solicited(okta, {}, alice(okta, ['sales']));
      const res = await postToAcs(t, okta, samlResponse, { cookie });
      expect(res.status).toBe(403);
      expect(res.text).toContain('You have no role in this organization');
      const [event] = await loginEvents(t, okta, 'failure');
      expect(event.reason).toMatch(/^no_role: /);
    });

    it("a non-success status, showing the IdP's status readably", async () => {
      const request = await startLogin(t, okta);
      const response = await okta.idp.response(alice(okta), {
        acsUrl: okta.acsUrl,
        audience: okta.audience,
        inResponseTo: request.id,
        status: {
          code: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
          message: 'User is not assigned to this application',
        },
      });
      const res = await postToAcs(t, okta, response, { cookie: request.cookie });
      expect(res.status).toBe(401);
      expect(res.text).toContain('Your identity provider refused the sign-in');
      expect(res.text).toContain('User is not assigned to this application');
      const [event] = await loginEvents(t, okta, 'failure');
      expect(event.reason).toMatch(/^idp_status: .*Responder.*not assigned/);
    });

    it("an IdP renaming someone to another user's email (email_taken, not a 500)", async () => {
      const first = { email: `erin@${entra.domain}`, groups: ['ml-team'], objectId: 'oid-erin' };
      const second = { email: `frank@${entra.domain}`, groups: ['ml-team'], objectId: 'oid-frank' };
      await expectSignedIn(t, entra, await solicited(entra, {}, first));
      await expectSignedIn(t, entra, await solicited(entra, {}, second));
      await expectRefused(
        t,
        entra,
        await solicited(entra, {}, { ...second, email: first.email }),
        /^email_taken: /,
        409,
      );
    });

    it('a second IdP subject showing the email of an account another subject holds (no takeover)', async () => {
      const original = {
        email: `gina@${entra.domain}`,
        groups: ['cp-admins'],
        objectId: 'oid-gina',
      };
      await expectSignedIn(t, entra, await solicited(entra, {}, original));
      await expectRefused(
        t,
        entra,
        await solicited(entra, {}, { ...original, groups: ['ml-team'], objectId: 'oid-impostor' }),
        /^subject_conflict: /,
        403,
      );
      // The account keeps its own subject and role.
      const { cookie } = await expectSignedIn(t, entra, await solicited(entra, {}, original));
      const me = await t.http.get('/v1/me').set('Cookie', cookie).expect(200);
      expect(me.body.roles).toEqual(['tenant_admin']);
    });

    it('a transient NameID as the user key', async () => {
      const request = await startLogin(t, google);
      const response = await google.idp.response(alice(google), {
        acsUrl: google.acsUrl,
        audience: google.audience,
        inResponseTo: request.id,
        nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
      });
      await expectRefused(
        t,
        google,
        { samlResponse: response, cookie: request.cookie },
        /^transient_user_key: /,
      );
    });
  });

  describe('accepts', () => {
    it('a Google-style response (assertion signed, response not)', async () => {
      const xml = await solicited(google);
      expect(Buffer.from(xml.samlResponse, 'base64').toString()).not.toMatch(
        /<samlp:Response[^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>\s*<ds:Signature/,
      );
      const { res } = await expectSignedIn(t, google, xml);
      expect(res.headers.location).toBe('/');
      const [event] = await loginEvents(t, google, 'success');
      expect(event.outcome).toBe('success');
    });

    it('an Okta-style response (response and assertion signed)', async () => {
      await expectSignedIn(t, okta, await solicited(okta));
    });

    it('an Entra-style response, keyed by the object id, not the email', async () => {
      const objectId = '00000000-0000-4000-8000-000000000042';
      const first = await expectSignedIn(
        t,
        entra,
        await solicited(
          entra,
          {},
          { email: `bob@${entra.domain}`, groups: ['auditors'], objectId },
        ),
      );
      const me1 = await t.http.get('/v1/me').set('Cookie', first.cookie).expect(200);
      // The person's email changes at the IdP: same object id, same user, email updated.
      const second = await expectSignedIn(
        t,
        entra,
        await solicited(
          entra,
          {},
          { email: `robert@${entra.domain}`, groups: ['auditors'], objectId },
        ),
      );
      const me2 = await t.http.get('/v1/me').set('Cookie', second.cookie).expect(200);
      expect(me2.body.actor.id).toBe(me1.body.actor.id);
      expect(me2.body.roles).toEqual(['compliance_officer']);
    });

    it('a certificate rollover: either of two certificates verifies', async () => {
      const old = makeKeyAndCertificate('old');
      const successor = makeKeyAndCertificate('new');
      const idp = new TestIdp('okta', { signing: old });
      const sso = await onboard(t, dns, 'okta', {
        idp,
        certificates: [old.certificatePem, successor.certificatePem],
      });
      await expectSignedIn(t, sso, await solicited(sso, { signWith: old }));
      await expectSignedIn(t, sso, await solicited(sso, { signWith: successor }));
    });

    it('an IdP-initiated response when the connection allows it', async () => {
      const sso = await onboard(t, dns, 'google', { allowIdpInitiated: true });
      const response = await sso.idp.response(alice(sso), {
        acsUrl: sso.acsUrl,
        audience: sso.audience,
      });
      await expectSignedIn(t, sso, response);
    });

    it('an encrypted assertion, decrypted with our SP key', async () => {
      const metadata = await t.http.get(`/sso/saml/${google.tenant.slug}/metadata`).expect(200);
      const certificate = /<(?:ds:)?X509Certificate>([^<]+)</.exec(metadata.text)![1];
      const pem = `-----BEGIN CERTIFICATE-----\n${certificate}\n-----END CERTIFICATE-----`;
      await expectSignedIn(t, google, await solicited(google, { encryptFor: pem }));
    });

    it('the highest role when several groups match', async () => {
      const { cookie } = await expectSignedIn(
        t,
        okta,
        await solicited(
          okta,
          {},
          { email: `carol@${okta.domain}`, groups: ['auditors', 'ml-team', 'cp-admins'] },
        ),
      );
      const me = await t.http.get('/v1/me').set('Cookie', cookie).expect(200);
      expect(me.body.roles).toEqual(['tenant_admin']);
    });

    it('the default role when no group matches, when there is one', async () => {
      const sso = await onboard(t, dns, 'okta', { defaultRole: 'viewer' });
      const { cookie } = await expectSignedIn(t, sso, await solicited(sso, {}, alice(sso, [])));
      const me = await t.http.get('/v1/me').set('Cookie', cookie).expect(200);
      expect(me.body.roles).toEqual(['viewer']);
    });
  });

  it('browser flow: login → IdP → ACS → cookie → GET /v1/me shows the user with the mapped role', async () => {
    // 1. The console sends the browser to the login URL with where to come back; the browser
    // gets the login cookie that binds the AuthnRequest to it.
    const login = await t.http
      .get(`/sso/saml/${okta.tenant.slug}/login`)
      .query({ RelayState: '/console/endpoints?tab=mine' })
      .expect(302);
    const loginCookie = setCookieOf(login, 'cp_saml_login')!;
    expect(loginCookie).toMatch(
      new RegExp(
        `^cp_saml_login=[A-Za-z0-9_-]{43}; Max-Age=${t.config.SAML_REQUEST_TTL_MS / 1000}; Path=/sso/saml/${okta.tenant.slug}; Expires=[^;]+; HttpOnly; Secure; SameSite=None$`,
      ),
    );
    const location = new URL(login.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(okta.idp.ssoUrl);
    // 2. The IdP reads the AuthnRequest, authenticates the person and posts back.
    const request = okta.idp.readAuthnRequest(login.headers.location as string);
    expect(request.acsUrl).toBe(okta.acsUrl);
    expect(request.issuer).toBe(okta.audience);
    expect(request.relayState).toBe('/console/endpoints?tab=mine');
    const email = `dana@${okta.domain}`;
    const samlResponse = await okta.idp.response(
      { email, firstName: 'Dana', lastName: 'Scully', groups: ['ml-team', 'everyone'] },
      { acsUrl: request.acsUrl!, audience: request.issuer, inResponseTo: request.id },
    );
    // 3. ACS, from the same browser: a session cookie, the login cookie cleared, and the way
    // back to the RelayState.
    const acs = await postToAcs(t, okta, samlResponse, {
      cookie: loginCookie.split(';')[0],
      relayState: request.relayState!,
    });
    expect(acs.status).toBe(303);
    expect(acs.headers.location).toBe('/console/endpoints?tab=mine');
    expect(setCookieOf(acs, 'cp_saml_login')).toMatch(
      new RegExp(`^cp_saml_login=; Path=/sso/saml/${okta.tenant.slug}; Expires=Thu, 01 Jan 1970`),
    );
    const cookie = setCookieOf(acs, 'cp_session')!.split(';')[0];
    // 4. The cookie is a session of the provisioned user with the mapped role.
    const me = await t.http.get('/v1/me').set('Cookie', cookie).expect(200);
    expect(me.body).toMatchObject({
      actor: { type: 'user', email },
      tenantId: okta.tenant.id,
      roles: ['ml_engineer'],
    });
    // The sign-in and the session are in the audit log.
    const [event] = await loginEvents(t, okta, 'success');
    expect(event.actor.id).toBe(me.body.actor.id);
    // 5. Logout ends it (a cookie-authenticated write: from our own origin, as the console sends it).
    await t.http
      .post('/v1/auth/logout')
      .set('Cookie', cookie)
      .set('Origin', t.config.PUBLIC_URL)
      .expect(204);
    await t.http.get('/v1/me').set('Cookie', cookie).expect(401);
  });

  describe('RelayState', () => {
    it.each([
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
      '/.//evil.example',
      '/%2e%2e//evil.example',
    ])('refuses %s at login (400, field error)', async (relayState) => {
      const res = await t.http
        .get(`/sso/saml/${okta.tenant.slug}/login`)
        .query({ RelayState: relayState })
        .expect(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'RelayState' })]);
    });

    it('never redirects off our origin after the ACS, whatever the IdP sends back', async () => {
      const { res } = await expectSignedIn(t, okta, await solicited(okta), '//evil.example/steal');
      expect(res.headers.location).toBe('/');
      // Dot-segments that would collapse into `//evil.example`.
      for (const relay of ['/.//evil.example', '/a/..//evil.example/x']) {
        const again = await expectSignedIn(t, okta, await solicited(okta), relay);
        expect(again.res.headers.location).toBe('/');
      }
    });
  });

  it('answers 404 for an unknown tenant slug, and sso_not_configured without a connection', async () => {
    await t.http.get('/sso/saml/no-such-tenant-xyz/login').expect(404);
    await t.http.get('/sso/saml/no-such-tenant-xyz/metadata').expect(404);
    await t.http
      .post('/sso/saml/no-such-tenant-xyz/acs')
      .type('form')
      .send({ SAMLResponse: 'x' })
      .expect(404);
    const bare = await onboard(t, dns, 'okta');
    await t.http
      .post(`/v1/tenants/${bare.tenant.id}/sso/saml-connections/${bare.connectionId}/disable`)
      .set(bearer(bare.admin))
      .expect(200);
    const res = await t.http.get(`/sso/saml/${bare.tenant.slug}/login`).expect(404);
    expect(res.body.code).toBe('sso_not_configured');
  });

  it('serves SP metadata: entity ID, ACS URL, NameID format and our signing certificate', async () => {
    const res = await t.http.get(`/sso/saml/${okta.tenant.slug}/metadata`).expect(200);
    expect(res.headers['content-type']).toMatch(/application\/samlmetadata\+xml/);
    expect(res.text).toContain(`entityID="${okta.audience}"`);
    expect(res.text).toContain(`Location="${okta.acsUrl}"`);
    expect(res.text).toContain('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    expect(res.text).toContain('nameid-format:emailAddress');
    expect(res.text).toMatch(/use="signing"/);
    expect(res.text).toContain('X509Certificate');
  });

  it('signs AuthnRequests and omits RequestedAuthnContext when the connection says so (ADFS)', async () => {
    const plain = await startLogin(t, okta);
    expect(plain.signed).toBe(false);
    expect(plain.hasRequestedAuthnContext).toBe(true);
    await t.http
      .patch(`/v1/tenants/${okta.tenant.id}/sso/saml-connections/${okta.connectionId}`)
      .set(bearer(okta.admin))
      .send({ signAuthnRequests: true, omitRequestedAuthnContext: true })
      .expect(200);
    try {
      const adfs = await startLogin(t, okta);
      expect(adfs.signed).toBe(true);
      expect(adfs.hasRequestedAuthnContext).toBe(false);
    } finally {
      await t.http
        .patch(`/v1/tenants/${okta.tenant.id}/sso/saml-connections/${okta.connectionId}`)
        .set(bearer(okta.admin))
        .send({ signAuthnRequests: false, omitRequestedAuthnContext: false })
        .expect(200);
    }
  });

  it('never writes an assertion or the session token into the audit log', async () => {
    const { cookie } = await expectSignedIn(t, okta, await solicited(okta));
    const token = cookie.split('=')[1];
    const res = await t.http
      .get(`/v1/tenants/${okta.tenant.id}/audit/events`)
      .query({ order: 'desc', limit: 100 })
      .set(bearer(okta.admin))
      .expect(200);
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(token);
    expect(text).not.toContain('SAMLResponse');
    expect(text).not.toContain('<saml');
  });

  // Kept for the helpers' own sake: a response signed twice still has one assertion signature.
  it('test IdP sanity: signAssertionOf and signResponseOf produce verifiable XML', () => {
    const key = makeKeyAndCertificate();
    const xml = signResponseOf(
      signAssertionOf(
        `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">x</saml:Issuer><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1"><saml:Issuer>x</saml:Issuer></saml:Assertion></samlp:Response>`,
        key,
      ),
      key,
    );
    expect(xml.match(/<ds:Signature[ >]/g)).toHaveLength(2);
  });
});
