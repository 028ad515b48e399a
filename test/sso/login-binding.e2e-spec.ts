import { bearer, TestApp, TestDnsServer } from '@app/testing';
import { startApi } from '../support/api';
import {
  expectRefused,
  expectSignedIn,
  onboard,
  setCookieOf,
  solicitedResponse,
  SsoTenant,
  startLogin,
} from './support/sso-fixture';

/**
 * An SP-initiated sign-in ends only in the browser that started it (login CSRF, OWASP CSRF
 * Prevention Cheat Sheet): the login route gives the browser a `cp_saml_login` cookie whose
 * hash is kept with the AuthnRequest id, and the ACS refuses a response to that request from a
 * browser without it (`browser_mismatch`, audited like every refused sign-in).
 */
describe('SAML sign-in bound to the browser that started it', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  let okta: SsoTenant;
  let google: SsoTenant;

  beforeAll(async () => {
    dns = await new TestDnsServer().start();
    t = await startApi({ env: { DNS_RESOLVERS: dns.address } });
    [okta, google] = await Promise.all([onboard(t, dns, 'okta'), onboard(t, dns, 'google')]);
  });
  afterAll(async () => {
    await t?.close();
    await dns?.stop();
  });

  const person = (sso: SsoTenant, name = 'alice') => ({
    email: `${name}@${sso.domain}`,
    groups: ['ml-team'],
  });

  it('gives the starting browser a Secure, SameSite=None, HttpOnly cookie on the tenant SSO path', async () => {
    const res = await t.http.get(`/sso/saml/${okta.tenant.slug}/login`).expect(302);
    const cookie = setCookieOf(res, 'cp_saml_login')!;
    const attributes = cookie.split('; ').slice(1);
    expect(cookie).toMatch(/^cp_saml_login=[A-Za-z0-9_-]{43};/);
    expect(attributes).toEqual(
      expect.arrayContaining([
        'HttpOnly',
        'Secure',
        'SameSite=None',
        `Path=/sso/saml/${okta.tenant.slug}`,
        `Max-Age=${Math.floor(t.config.SAML_REQUEST_TTL_MS / 1000)}`,
      ]),
    );
  });

  it('signs in the browser that started the login, and clears its cookie', async () => {
    const login = await solicitedResponse(t, okta, person(okta));
    const { cookie } = await expectSignedIn(t, okta, login);
    const me = await t.http.get('/v1/me').set('Cookie', cookie).expect(200);
    expect(me.body.actor.email).toBe(`alice@${okta.domain}`);
  });

  it('refuses a response replayed into a browser that started no login (login CSRF), and spends it', async () => {
    // The attacker's own sign-in, answered by the IdP, posted from the victim's browser by an
    // auto-submitting form on another site: the victim's browser has no cookie for it.
    const attackers = await solicitedResponse(t, okta, person(okta, 'mallory'));
    const reason = await expectRefused(
      t,
      okta,
      attackers.samlResponse,
      /^browser_mismatch: This browser did not start the sign-in .*no sign-in cookie/,
    );
    expect(reason).toContain(attackers.request.id);
    // The AuthnRequest is spent: not even the browser that started it can use it now.
    await expectRefused(t, okta, attackers, /^in_response_to_invalid: /);
  });

  it('refuses a response posted with the cookie of another login attempt', async () => {
    // Another browser's, or this browser's own later one: starting again at the login route
    // replaces the cookie (same name and path), so only the latest attempt can end here.
    const first = await solicitedResponse(t, google, person(google));
    const other = await startLogin(t, google);
    await expectRefused(
      t,
      google,
      { samlResponse: first.samlResponse, cookie: other.cookie },
      /^browser_mismatch: AuthnRequest \S+ was started by another browser, or by an earlier sign-in/,
    );
  });

  it('refuses a malformed login cookie as no match', async () => {
    const login = await solicitedResponse(t, okta, person(okta));
    await expectRefused(
      t,
      okta,
      { samlResponse: login.samlResponse, cookie: 'cp_saml_login=not-a-nonce' },
      /^browser_mismatch: /,
    );
  });

  it('refuses a response to the connection test’s AuthnRequest (no browser holds its cookie)', async () => {
    const test = await t.http
      .post(`/v1/tenants/${okta.tenant.id}/sso/saml-connections/${okta.connectionId}/test`)
      .set(bearer(okta.admin))
      .expect(200);
    const request = okta.idp.readAuthnRequest(test.body.authnRequestUrl as string);
    const response = await okta.idp.response(person(okta), {
      acsUrl: okta.acsUrl,
      audience: okta.audience,
      inResponseTo: request.id,
    });
    await expectRefused(t, okta, response, /^browser_mismatch: /);
  });

  describe('IdP-initiated sign-in (no AuthnRequest, nothing to bind; saml-login.e2e-spec.ts)', () => {
    let open: SsoTenant;
    beforeAll(async () => {
      open = await onboard(t, dns, 'google', { allowIdpInitiated: true });
    });

    it('never lets a solicited response pass as one by dropping the Response’s InResponseTo', async () => {
      // Google-style: the assertion is signed, the Response is not, so its InResponseTo can be
      // removed without breaking a signature; the signed SubjectConfirmationData still names
      // the request.
      const request = await startLogin(t, open);
      const xml = open.idp.responseXml(person(open), {
        acsUrl: open.acsUrl,
        audience: open.audience,
        inResponseTo: request.id,
      });
      const stripped = xml.replace(/(<samlp:Response[^>]*?) InResponseTo="[^"]*"/, '$1');
      expect(stripped).not.toBe(xml);
      await expectRefused(
        t,
        open,
        Buffer.from(stripped).toString('base64'),
        /^in_response_to_invalid: The assertion answers AuthnRequest .*the Response names none/,
      );
    });
  });

  describe('expiry', () => {
    let brief: TestApp;
    let sso: SsoTenant;
    beforeAll(async () => {
      brief = await startApi({
        env: { DNS_RESOLVERS: dns.address, SAML_REQUEST_TTL_MS: '2000' },
      });
      sso = await onboard(brief, dns, 'okta');
    });
    afterAll(() => brief?.close());

    it('refuses a response to a login whose request (and cookie) expired', async () => {
      const login = await solicitedResponse(brief, sso, person(sso));
      expect(login.cookie).toMatch(/^cp_saml_login=/);
      // The AuthnRequest id and the cookie live SAML_REQUEST_TTL_MS (Max-Age=2); wait past it.
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      await expectRefused(brief, sso, login, /^in_response_to_invalid: /);
    });
  });
});
