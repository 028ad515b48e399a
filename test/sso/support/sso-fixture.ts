import { PLATFORM_TENANT_ID } from '@app/authz';
import {
  bearer,
  createTenant,
  IdpUser,
  IdpVariant,
  platformAdminKey,
  ReceivedAuthnRequest,
  ResponseOptions,
  signIn,
  TestApp,
  TestDnsServer,
  TestIdp,
  TestTenant,
} from '@app/testing';
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';

/** A tenant onboarded for SSO: a verified domain, a SAML connection to `idp`, enabled. */
export interface SsoTenant {
  tenant: TestTenant;
  admin: string;
  idp: TestIdp;
  domain: string;
  connectionId: string;
  acsUrl: string;
  audience: string;
}

export interface OnboardOptions {
  allowIdpInitiated?: boolean;
  defaultRole?: string | null;
  /** Create from fields with these certificates instead of from the IdP's metadata. */
  certificates?: string[];
  idp?: TestIdp;
}

/** Claims a domain, publishes its TXT record in `dns` and verifies it. */
export async function verifiedDomain(
  t: TestApp,
  dns: TestDnsServer,
  tenantId: string,
  admin: string,
  domain: string,
): Promise<string> {
  const claimed = await t.http
    .post(`/v1/tenants/${tenantId}/domains`)
    .set(bearer(admin))
    .send({ domain });
  if (claimed.status !== 201) throw new Error(`claim: ${claimed.status} ${claimed.text}`);
  dns.publishTxt(claimed.body.txtRecordName, claimed.body.txtRecordValue);
  const verified = await t.http
    .post(`/v1/tenants/${tenantId}/domains/${claimed.body.id}/verify`)
    .set(bearer(admin));
  if (verified.status !== 200) throw new Error(`verify: ${verified.status} ${verified.text}`);
  return claimed.body.id;
}

/**
 * A fresh tenant with an admin, a verified domain `<slug>.corp.example`, and an enabled
 * connection to a new IdP of `variant` (its metadata, its preset mapping, rules: `cp-admins` →
 * tenant_admin, `ml-team` → ml_engineer, `auditors` → compliance_officer).
 */
export async function onboard(
  t: TestApp,
  dns: TestDnsServer,
  variant: IdpVariant,
  options: OnboardOptions = {},
): Promise<SsoTenant> {
  const tenant = await createTenant(t);
  const admin = (await signIn(t, ['tenant_admin'], tenant.id)).token;
  const idp = options.idp ?? new TestIdp(variant);
  const domain = `${tenant.slug}.corp.example`;
  await verifiedDomain(t, dns, tenant.id, admin, domain);
  const created = await t.http
    .post(`/v1/tenants/${tenant.id}/sso/saml-connections`)
    .set(bearer(admin))
    .send({
      name: `${variant} IdP`,
      ...(options.certificates
        ? { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: options.certificates }
        : { metadataXml: idp.metadataXml() }),
      attributeMapping: { preset: variant },
      roleRules: [
        { group: 'cp-admins', role: 'tenant_admin' },
        { group: 'ml-team', role: 'ml_engineer' },
        { group: 'auditors', role: 'compliance_officer' },
      ],
      defaultRole: options.defaultRole ?? null,
      allowIdpInitiated: options.allowIdpInitiated ?? false,
    });
  if (created.status !== 201) throw new Error(`connection: ${created.status} ${created.text}`);
  const enabled = await t.http
    .post(`/v1/tenants/${tenant.id}/sso/saml-connections/${created.body.id}/enable`)
    .set(bearer(admin));
  if (enabled.status !== 200) throw new Error(`enable: ${enabled.status} ${enabled.text}`);
  return {
    tenant,
    admin,
    idp,
    domain,
    connectionId: created.body.id,
    acsUrl: created.body.serviceProvider.acsUrl,
    audience: created.body.serviceProvider.entityId,
  };
}

/**
 * The `Set-Cookie` line of cookie `name` in `res`, attributes and all (`name=value; Path=…`).
 */
export function setCookieOf(res: Response, name: string): string | undefined {
  const lines = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  return lines.find((line) => line.startsWith(`${name}=`));
}

/**
 * An SP-initiated login: the AuthnRequest as the IdP received it, and `cookie`, the
 * `cp_saml_login=<nonce>` pair the login route gave the browser that started it (send it as the
 * `Cookie` header to be that browser at the ACS).
 */
export interface StartedLogin extends ReceivedAuthnRequest {
  cookie: string;
}

/** Starts an SP-initiated login in a fresh browser (see {@link StartedLogin}). */
export async function startLogin(
  t: TestApp,
  sso: SsoTenant,
  relayState?: string,
): Promise<StartedLogin> {
  const res = await t.http
    .get(`/sso/saml/${sso.tenant.slug}/login`)
    .query(relayState ? { RelayState: relayState } : {});
  if (res.status !== 302) throw new Error(`login: ${res.status} ${res.text}`);
  const cookie = setCookieOf(res, 'cp_saml_login')?.split(';')[0];
  if (!cookie) throw new Error('login: no cp_saml_login cookie');
  return { ...sso.idp.readAuthnRequest(res.headers.location as string), cookie };
}

/**
 * Posts a SAMLResponse to the tenant's ACS as the browser's auto-submitted form would, from
 * the browser whose `cookie` (`cp_saml_login=…`, from {@link startLogin}) is given, else from
 * a browser that started no login.
 */
export function postToAcs(
  t: TestApp,
  sso: SsoTenant,
  samlResponse: string,
  from: { cookie?: string; relayState?: string } = {},
) {
  const post = t.http.post(`/sso/saml/${sso.tenant.slug}/acs`).type('form');
  if (from.cookie) post.set('Cookie', from.cookie);
  return post.send({
    SAMLResponse: samlResponse,
    ...(from.relayState ? { RelayState: from.relayState } : {}),
  });
}

/** The `saml.login` audit events of the tenant, newest first. */
export async function loginEvents(
  t: TestApp,
  sso: SsoTenant,
  outcome?: 'success' | 'failure',
): Promise<{ reason: string | null; outcome: string; actor: { id: string | null } }[]> {
  const res = await t.http
    .get(`/v1/tenants/${sso.tenant.id}/audit/events`)
    .query({ action: 'saml.login', order: 'desc', ...(outcome ? { outcome } : {}) })
    .set(bearer(sso.admin));
  if (res.status !== 200) throw new Error(`audit: ${res.status} ${res.text}`);
  return res.body.data;
}

/**
 * A SAMLResponse and the browser that posts it: with `cookie`, the `cp_saml_login` pair of the
 * browser that started the login ({@link StartedLogin}); a bare string is posted by a browser
 * that started none.
 */
export type Posted = string | { samlResponse: string; cookie?: string };

const postedBy = (posted: Posted): { samlResponse: string; cookie?: string } =>
  typeof posted === 'string' ? { samlResponse: posted } : posted;

/**
 * An SP-initiated login started by a fresh browser, answered by `sso`'s IdP for `user` (a valid
 * response, with `options` changed): the response and that browser's login cookie, not posted.
 */
export async function solicitedResponse(
  t: TestApp,
  sso: SsoTenant,
  user: IdpUser,
  options: Partial<ResponseOptions> = {},
): Promise<{ samlResponse: string; cookie: string; request: StartedLogin }> {
  const request = await startLogin(t, sso);
  const samlResponse = await sso.idp.response(user, {
    acsUrl: sso.acsUrl,
    audience: sso.audience,
    inResponseTo: request.id,
    ...options,
  });
  return { samlResponse, cookie: request.cookie, request };
}

/**
 * Posts and expects a refusal: `status`, a readable page naming the reason, no session (and the
 * login cookie, if one was sent, cleared), and a `saml.login` failure audited with a reason
 * matching `reason`. @returns the audited reason
 */
export async function expectRefused(
  t: TestApp,
  sso: SsoTenant,
  posted: Posted,
  reason: RegExp,
  status = 401,
): Promise<string> {
  const before = (await loginEvents(t, sso, 'success')).length;
  const { samlResponse, cookie } = postedBy(posted);
  const res = await postToAcs(t, sso, samlResponse, { cookie });
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/text\/html/);
  expect(setCookieOf(res, 'cp_session')).toBeUndefined();
  if (cookie) expect(setCookieOf(res, 'cp_saml_login')).toMatch(/^cp_saml_login=;/);
  else expect(res.headers['set-cookie']).toBeUndefined();
  const [event] = await loginEvents(t, sso, 'failure');
  expect(event.outcome).toBe('failure');
  expect(event.reason).toMatch(reason);
  expect(res.text).toContain(event.reason!.split(':')[0]);
  expect(await loginEvents(t, sso, 'success')).toHaveLength(before);
  if (process.env.SHOW_REASONS) process.stderr.write(`REASON ${event.reason}\n`);
  return event.reason!;
}

/**
 * Posts and expects a session: 303, the `cp_session` cookie (HttpOnly), and the login cookie,
 * if one was sent, cleared. @returns the answer and the session cookie (`cp_session=...`)
 */
export async function expectSignedIn(
  t: TestApp,
  sso: SsoTenant,
  posted: Posted,
  relayState?: string,
) {
  const from = postedBy(posted);
  const res = await postToAcs(t, sso, from.samlResponse, { cookie: from.cookie, relayState });
  expect(res.status).toBe(303);
  const cookie = setCookieOf(res, 'cp_session');
  expect(cookie).toMatch(/HttpOnly/);
  if (from.cookie) expect(setCookieOf(res, 'cp_saml_login')).toMatch(/^cp_saml_login=;/);
  return { res, cookie: cookie!.split(';')[0] };
}

/**
 * The operator's own SSO (staff sign-in), set up by the platform admin through the same routes
 * as a customer's: a verified domain `ops-<random>.operator.example` and an enabled connection
 * to a new Okta-style IdP mapping `staff-admins` → platform_admin, `account-managers` →
 * account_manager, `auditors` → compliance_officer. The platform tenant is one row per
 * database, and test files of one worker share it, so connections an earlier file left are
 * deleted first.
 */
export async function onboardOperator(t: TestApp, dns: TestDnsServer): Promise<SsoTenant> {
  const admin = platformAdminKey();
  const base = `/v1/tenants/${PLATFORM_TENANT_ID}/sso/saml-connections`;
  const existing = await t.http.get(base).query({ limit: 100 }).set(bearer(admin));
  if (existing.status !== 200) throw new Error(`list: ${existing.status} ${existing.text}`);
  for (const connection of existing.body.data as { id: string }[]) {
    await t.http.delete(`${base}/${connection.id}`).set(bearer(admin)).expect(204);
  }
  const idp = new TestIdp('okta');
  const domain = `ops-${randomUUID().slice(0, 8)}.operator.example`;
  await verifiedDomain(t, dns, PLATFORM_TENANT_ID, admin, domain);
  const created = await t.http
    .post(base)
    .set(bearer(admin))
    .send({
      name: 'Operator staff IdP',
      metadataXml: idp.metadataXml(),
      attributeMapping: { preset: 'okta' },
      roleRules: [
        { group: 'staff-admins', role: 'platform_admin' },
        { group: 'account-managers', role: 'account_manager' },
        { group: 'auditors', role: 'compliance_officer' },
      ],
    });
  if (created.status !== 201) throw new Error(`connection: ${created.status} ${created.text}`);
  await t.http.post(`${base}/${created.body.id}/enable`).set(bearer(admin)).expect(200);
  return {
    tenant: { id: PLATFORM_TENANT_ID, slug: 'platform', name: 'Platform operator' },
    admin,
    idp,
    domain,
    connectionId: created.body.id,
    acsUrl: created.body.serviceProvider.acsUrl,
    audience: created.body.serviceProvider.entityId,
  };
}

/**
 * An SP-initiated sign-in of `user` at `sso`'s IdP, in one browser: our login route's
 * AuthnRequest (and its login cookie) answered by the IdP's signed response, posted to the ACS
 * with that cookie. @returns the ACS's answer (303 or a refusal page)
 */
export async function solicitedSignIn(t: TestApp, sso: SsoTenant, user: IdpUser) {
  const { samlResponse, cookie } = await solicitedResponse(t, sso, user);
  return postToAcs(t, sso, samlResponse, { cookie });
}

/**
 * A person signed in through `sso`'s IdP as a browser would: home-realm discovery by their
 * email (which must lead to `sso`'s login route), then {@link solicitedSignIn}.
 *
 * @returns the session cookie (`cp_session=...`) and its token, for `Authorization: Bearer`
 */
export async function signInThroughIdp(
  t: TestApp,
  sso: SsoTenant,
  user: IdpUser,
): Promise<{ cookie: string; token: string }> {
  const discovered = await t.http.post('/sso/discover').send({ email: user.email });
  if (discovered.status !== 200)
    throw new Error(`discover: ${discovered.status} ${discovered.text}`);
  const loginPath = new URL(discovered.body.loginUrl as string).pathname;
  if (loginPath !== `/sso/saml/${sso.tenant.slug}/login`) {
    throw new Error(`discovery led to ${loginPath}, not ${sso.tenant.slug}'s login`);
  }
  const posted = await solicitedSignIn(t, sso, user);
  if (posted.status !== 303) throw new Error(`acs: ${posted.status} ${posted.text}`);
  const cookie = setCookieOf(posted, 'cp_session')!.split(';')[0];
  return { cookie, token: cookie.slice('cp_session='.length) };
}
