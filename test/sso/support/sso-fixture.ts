import {
  bearer,
  createTenant,
  IdpVariant,
  signIn,
  TestApp,
  TestDnsServer,
  TestIdp,
  TestTenant,
} from '@app/testing';

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

/** Starts an SP-initiated login; answers the AuthnRequest as the IdP received it. */
export async function startLogin(t: TestApp, sso: SsoTenant, relayState?: string) {
  const res = await t.http
    .get(`/sso/saml/${sso.tenant.slug}/login`)
    .query(relayState ? { RelayState: relayState } : {});
  if (res.status !== 302) throw new Error(`login: ${res.status} ${res.text}`);
  return sso.idp.readAuthnRequest(res.headers.location as string);
}

/** Posts a SAMLResponse to the tenant's ACS as the browser's auto-submitted form would. */
export function postToAcs(t: TestApp, sso: SsoTenant, samlResponse: string, relayState?: string) {
  return t.http
    .post(`/sso/saml/${sso.tenant.slug}/acs`)
    .type('form')
    .send({ SAMLResponse: samlResponse, ...(relayState ? { RelayState: relayState } : {}) });
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
