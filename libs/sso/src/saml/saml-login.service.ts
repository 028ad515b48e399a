import { AuditService } from '@app/audit';
import { asTenantId, Role, TenantDb, TenantId } from '@app/authz';
import { AppConfig, DomainError, InjectConfig, NotFound, ValidationFailed } from '@app/core';
import { SessionService, UserService } from '@app/identity';
import { TenantService } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import {
  generateServiceProviderMetadata,
  Profile,
  SamlConfig,
  ValidateInResponseTo,
} from '@node-saml/node-saml';
import { MultiSamlStrategy } from '@node-saml/passport-saml';
import { SamlConnection, SsoIdentity } from '../connections/saml-connection.entity';
import { AttributeMapping, roleFor } from '../connections/saml-connection.types';
import { SsoDomain } from '../domains/sso-domain.entity';
import { SamlLoginRefused, SsoNotConfigured } from '../sso-problems';
import { SpCredentials, SpCredentialsService } from '../sp/sp-credentials.service';
import { loginCookieOptions, loginNonceHash, newLoginNonce, sameBrowser } from './login-binding';
import { hasDocumentType, parseXml } from './safe-xml';
import { RequestCacheUse, SamlRedis } from './saml-redis';
import { validityWindowProblem } from './validity-window';

const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const SAML_OPTIONS = Symbol('samlOptions');

/** The request shape passport-saml reads; we hand it only what it needs. */
interface StrategyRequest {
  query: Record<string, string | undefined>;
  body: Record<string, string | undefined>;
  headers: Record<string, string>;
  url: string;
  res?: { send(body: string): void };
  [SAML_OPTIONS]?: SamlConfig;
}

type StrategyOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'html'; html: string }
  | { kind: 'success'; profile: Profile };

type XmlNode = { $?: Record<string, string>; _?: string } & Record<string, unknown>;

export interface SignedIn {
  tenantId: TenantId;
  userId: string;
  token: string;
  redirectTo: string;
}

export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

/**
 * A started SP-initiated sign-in: where the browser goes (a redirect to the IdP, or an
 * auto-posting form for the HTTP-POST binding) and the `cp_saml_login` cookie to give it, which
 * binds the AuthnRequest to this browser (login-binding.ts): its value and Express cookie
 * options.
 */
export type StartedLogin = ({ redirect: string } | { html: string }) & {
  loginCookie: { value: string; options: ReturnType<typeof loginCookieOptions> };
};

/**
 * SP-initiated and IdP-initiated SAML sign-in for every tenant, through passport-saml's
 * MultiSamlStrategy: each request gets the configuration of the tenant in its path (the enabled
 * connection's certificates, our per-tenant entity ID and ACS URL, a Redis request cache keyed
 * by the tenant). node-saml verifies the signature and reads the identity from the signed
 * assertion only; this service adds what it leaves to us: Destination and Recipient, the
 * issuer, DTD refusal, a size limit, the replay cache, verified email domains, the user key and
 * roles, then provisions the user and starts a session. Every outcome is audited.
 */
@Injectable()
export class SamlLoginService {
  private readonly logger = new Logger('SamlLogin');
  private readonly strategy: MultiSamlStrategy;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly db: TenantDb,
    private readonly sp: SpCredentialsService,
    private readonly redis: SamlRedis,
    private readonly tenants: TenantService,
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
  ) {
    this.strategy = new MultiSamlStrategy(
      {
        passReqToCallback: true,
        getSamlOptions: (req, done) => {
          const options = (req as unknown as StrategyRequest)[SAML_OPTIONS];
          return options ? done(null, options) : done(new Error('no SAML options for request'));
        },
      },
      (_req, profile, done) => done(null, profile as unknown as Record<string, unknown>),
      (_req, profile, done) => done(null, profile as unknown as Record<string, unknown>),
    );
  }

  /** Our SP entity ID for a tenant: its metadata URL. */
  spEntityId(slug: string): string {
    return `${this.config.PUBLIC_URL}/sso/saml/${slug}/metadata`;
  }

  acsUrl(slug: string): string {
    return `${this.config.PUBLIC_URL}/sso/saml/${slug}/acs`;
  }

  loginUrl(slug: string): string {
    return `${this.config.PUBLIC_URL}/sso/saml/${slug}/login`;
  }

  /** The SP metadata of a tenant (no connection needed: admins give it to their IdP first). */
  async metadata(slug: string): Promise<string> {
    const tenant = await this.tenant(slug);
    const sp = await this.sp.get();
    return generateServiceProviderMetadata({
      issuer: this.spEntityId(tenant.slug),
      callbackUrl: this.acsUrl(tenant.slug),
      identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      wantAssertionsSigned: true,
      decryptionPvk: sp.privateKeyPem,
      decryptionCert: sp.certificatePem,
      privateKey: sp.privateKeyPem,
      publicCerts: sp.certificatePem,
      signatureAlgorithm: 'sha256',
    });
  }

  /**
   * The redirect (or auto-posting form) that sends the browser to the tenant's IdP with an
   * AuthnRequest whose id is remembered for this tenant together with the SHA-256 of a fresh
   * nonce, and that nonce as the `cp_saml_login` cookie the caller must set: the ACS accepts a
   * response to this request only from the browser holding it. Whoever does not set it (the
   * connection test) makes a request no response can complete.
   *
   * @throws NotFound for an unknown tenant; SsoNotConfigured without an enabled connection;
   *   ValidationFailed for a RelayState that is not a relative path on our origin
   */
  async startLogin(
    slug: string,
    relayState: unknown,
    options: { connection?: SamlConnection } = {},
  ): Promise<StartedLogin> {
    const relay =
      relayState === undefined || relayState === '' ? undefined : safeRelayState(relayState);
    if (relay === null) {
      throw new ValidationFailed('RelayState must be a relative path on this site.', {
        errors: [{ path: 'RelayState', message: 'must be a path starting with a single /' }],
      });
    }
    const tenant = await this.tenant(slug);
    if (tenant.status !== 'active' && tenant.status !== 'onboarding') {
      throw new SsoNotConfigured(`The tenant is ${tenant.status}; nobody signs in to it.`);
    }
    const connection = options.connection ?? (await this.enabledConnection(tenant.id));
    if (!connection) throw new SsoNotConfigured('This tenant has no enabled SAML connection.');
    const nonce = newLoginNonce();
    const outcome = await this.run(
      { query: { RelayState: relay }, body: {}, headers: {}, url: `/sso/saml/${slug}/login` },
      this.samlOptions(tenant, connection, await this.sp.get(), {
        browser: loginNonceHash(nonce),
      }),
    );
    const loginCookie = {
      value: nonce,
      options: loginCookieOptions(tenant.slug, this.config.SAML_REQUEST_TTL_MS),
    };
    if (outcome.kind === 'redirect') return { redirect: outcome.url, loginCookie };
    if (outcome.kind === 'html') return { html: outcome.html, loginCookie };
    throw new Error('unexpected SAML outcome for a login request');
  }

  /**
   * Validates a SAML response posted to the tenant's ACS, provisions the user and starts a
   * session. A refusal is audited (`saml.login`, outcome failure, the reason code first) and
   * thrown. A response to an AuthnRequest (`InResponseTo`) is accepted only with `loginCookie`,
   * the `cp_saml_login` cookie value of the browser that started that request
   * ({@link startLogin}); an unsolicited one only where the connection allows IdP-initiated
   * sign-in, and never when its signed assertion answers a request.
   *
   * @param loginCookie the `cp_saml_login` cookie the browser sent, if any
   * @throws NotFound for an unknown tenant; SamlLoginRefused with the reason (`browser_mismatch`
   *   for a response to a request another browser, or no browser, started)
   */
  async acs(
    slug: string,
    body: Record<string, unknown>,
    client: ClientInfo,
    loginCookie?: string,
  ): Promise<SignedIn> {
    const tenant = await this.tenant(slug);
    let connection: SamlConnection | undefined;
    try {
      connection = await this.enabledConnection(tenant.id);
      if (tenant.status !== 'active' && tenant.status !== 'onboarding') {
        throw new SamlLoginRefused('tenant_not_active', `The tenant is ${tenant.status}.`, 403);
      }
      if (!connection) {
        throw new SamlLoginRefused(
          'sso_not_configured',
          'This tenant has no enabled SAML connection.',
          404,
        );
      }
      const signedIn = await this.signIn(tenant, connection, body, client, loginCookie);
      return signedIn;
    } catch (error) {
      const refusal =
        error instanceof SamlLoginRefused
          ? error
          : error instanceof DomainError
            ? // e.g. email_taken: the IdP renamed someone to the email of another user here
              new SamlLoginRefused(error.problem.code, error.message, error.problem.status)
            : new SamlLoginRefused('internal_error', 'The sign-in could not be completed.', 500);
      if (!(error instanceof SamlLoginRefused) && !(error instanceof DomainError)) {
        this.logger.error(error);
      }
      await this.db
        .inTenant(tenant.id, (manager) =>
          this.audit.append(manager, {
            tenantId: tenant.id,
            actor: { type: 'anonymous' },
            action: 'saml.login',
            resource: { type: 'saml_connection', id: connection?.id },
            outcome: 'failure',
            reason: refusal.message.slice(0, 2000),
            ip: client.ip,
            userAgent: client.userAgent,
          }),
        )
        .catch((auditError: Error) =>
          this.logger.error(`auditing a SAML refusal: ${auditError.message}`),
        );
      throw refusal;
    }
  }

  private async signIn(
    tenant: { id: TenantId; slug: string },
    connection: SamlConnection,
    body: Record<string, unknown>,
    client: ClientInfo,
    loginCookie: string | undefined,
  ): Promise<SignedIn> {
    const encoded = body.SAMLResponse;
    if (typeof encoded !== 'string' || encoded.length === 0) {
      throw new SamlLoginRefused('missing_saml_response', 'The form carried no SAMLResponse.', 400);
    }
    if (Buffer.byteLength(encoded) > this.config.SAML_MAX_RESPONSE_BYTES) {
      throw new SamlLoginRefused(
        'response_too_large',
        `The SAMLResponse is over ${this.config.SAML_MAX_RESPONSE_BYTES} bytes.`,
        413,
      );
    }
    const xml = Buffer.from(encoded, 'base64').toString('utf8');
    if (hasDocumentType(xml)) {
      throw new SamlLoginRefused(
        'dtd_refused',
        'The response declares a DOCTYPE or entities; SAML messages never do, and they are never resolved.',
      );
    }
    let received: Document;
    try {
      received = parseXml(xml);
    } catch (error) {
      throw new SamlLoginRefused('malformed_response', (error as Error).message, 400);
    }
    const destination = received.documentElement.getAttribute('Destination');
    // SAML bindings §3.5.5.2: a signed response posted by HTTP-POST carries the Destination it
    // was meant for; ours is the tenant's ACS.
    const acs = this.acsUrl(tenant.slug);
    if (destination !== acs) {
      throw new SamlLoginRefused(
        'wrong_destination',
        `The response's Destination is ${destination ? JSON.stringify(destination) : 'missing'}, not this ACS (${acs}).`,
      );
    }
    const window = validityWindowProblem(received, Date.now(), this.config.SAML_CLOCK_SKEW_MS);
    if (window) throw new SamlLoginRefused(window.code, window.detail);
    const sp = await this.sp.get();
    // The browser bindings of the request ids node-saml consumes while it validates.
    const answered = new Map<string, string | null | undefined>();
    let profile: Profile;
    try {
      const outcome = await this.run(
        {
          query: {},
          body: { SAMLResponse: encoded },
          headers: {},
          url: `/sso/saml/${tenant.slug}/acs`,
        },
        this.samlOptions(tenant, connection, sp, {
          answered: (id, browser) => answered.set(id, browser),
        }),
      );
      if (outcome.kind !== 'success') throw new Error('no assertion');
      profile = outcome.profile;
    } catch (error) {
      throw classify(error as Error);
    }
    const assertion = (profile.getAssertion?.() as { Assertion?: XmlNode } | undefined)?.Assertion;
    if (!assertion?.$?.ID)
      throw new SamlLoginRefused('malformed_response', 'The assertion has no ID.');
    if (profile.issuer !== connection.idpEntityId) {
      throw new SamlLoginRefused(
        'wrong_issuer',
        `The assertion was issued by ${JSON.stringify(profile.issuer ?? null)}, not ${connection.idpEntityId}.`,
      );
    }
    const confirmations = nodes(nodes(assertion.Subject)[0]?.SubjectConfirmation).filter(
      (c) => c.$?.Method === BEARER,
    );
    const recipients = confirmations.map((c) => nodes(c.SubjectConfirmationData)[0]?.$?.Recipient);
    if (!recipients.includes(acs)) {
      throw new SamlLoginRefused(
        'wrong_recipient',
        `The bearer SubjectConfirmationData Recipient is ${JSON.stringify(recipients[0] ?? null)}, not this ACS.`,
      );
    }
    if (typeof profile.inResponseTo === 'string' && profile.inResponseTo) {
      requireSameBrowser(profile.inResponseTo, answered, loginCookie);
    } else {
      // SAML profiles §4.1.4.2: a response to an AuthnRequest names it in the signed bearer
      // SubjectConfirmationData too. One whose Response element lost its (unsigned) InResponseTo
      // is not unsolicited: it must not pass as IdP-initiated and skip the browser binding.
      const answers = confirmations
        .map((c) => nodes(c.SubjectConfirmationData)[0]?.$?.InResponseTo)
        .find(Boolean);
      if (answers) {
        throw new SamlLoginRefused(
          'in_response_to_invalid',
          `The assertion answers AuthnRequest ${answers}, but the Response names none.`,
        );
      }
      if (!connection.allowIdpInitiated) {
        throw new SamlLoginRefused(
          'unsolicited_response',
          'IdP-initiated sign-in is off for this connection; start at the login URL.',
        );
      }
    }
    const notOnOrAfter =
      nodes(assertion.Conditions)[0]?.$?.NotOnOrAfter ??
      nodes(confirmations[0]?.SubjectConfirmationData)[0]?.$?.NotOnOrAfter;
    const until = notOnOrAfter
      ? new Date(notOnOrAfter)
      : new Date(Date.now() + this.config.SAML_REQUEST_TTL_MS);
    if (!(await this.redis.firstUse(tenant.id, assertion.$.ID, until))) {
      throw new SamlLoginRefused(
        'assertion_replayed',
        `Assertion ${assertion.$.ID} was already used.`,
      );
    }

    const person = readPerson(profile, connection.attributeMapping);
    const domain = person.email.slice(person.email.lastIndexOf('@') + 1);
    const role = roleFor(
      person.groups,
      connection.roleRules,
      connection.defaultRole as Role | null,
    );
    const { userId, provisioned } = await this.db.run(
      { kind: 'tenant', tenantId: tenant.id },
      async () => {
        const manager = this.db.manager;
        const verified = await manager
          .getRepository(SsoDomain)
          .findOneBy({ tenantId: tenant.id, domain, status: 'verified' });
        if (!verified) {
          throw new SamlLoginRefused(
            'email_domain_not_verified',
            `${domain} is not a verified domain of this tenant.`,
            403,
          );
        }
        if (!role) {
          throw new SamlLoginRefused(
            'no_role',
            `${person.email} signed in, but none of their groups maps to a role here and there is no default role.`,
            403,
          );
        }
        const identities = manager.getRepository(SsoIdentity);
        const link = await identities.findOneBy({
          tenantId: tenant.id,
          connectionId: connection.id,
          subject: person.userKey,
        });
        let id = link?.userId;
        let created = false;
        if (id) {
          const user = await this.users.findById(tenant.id, id);
          if (user?.status !== 'active') {
            throw new SamlLoginRefused('user_disabled', `${person.email} is disabled here.`, 403);
          }
        } else {
          const existing = await this.users.findByEmail(tenant.id, person.email);
          if (existing && existing.status !== 'active') {
            throw new SamlLoginRefused('user_disabled', `${person.email} is disabled here.`, 403);
          }
          // Users are keyed by the IdP's stable attribute, not by email: an account another IdP
          // subject already signs in to is never taken over by a new subject showing the same
          // email (a recycled mailbox, a second directory object). Only an account no subject
          // holds yet (made before SSO) is claimed by its email.
          if (
            existing &&
            (await identities.existsBy({ tenantId: tenant.id, userId: existing.id }))
          ) {
            throw new SamlLoginRefused(
              'subject_conflict',
              `${person.email} already belongs to another IdP identity here (users are keyed by ${connection.attributeMapping.userKey}); an administrator must resolve it.`,
              403,
            );
          }
          id =
            existing?.id ??
            (
              await this.users.create(tenant.id, {
                email: person.email,
                displayName: person.displayName ?? undefined,
                roles: [role],
              })
            ).id;
          created = !existing;
          await identities.insert({
            tenantId: tenant.id,
            connectionId: connection.id,
            subject: person.userKey,
            userId: id,
          });
        }
        const before = await this.users.syncFromDirectory(tenant.id, id, {
          email: person.email,
          displayName: person.displayName,
          roles: [role],
        });
        await identities.update(
          { tenantId: tenant.id, connectionId: connection.id, subject: person.userKey },
          { lastLoginAt: () => 'now()' },
        );
        await this.audit.append(manager, {
          tenantId: tenant.id,
          actor: { type: 'user', id, email: person.email },
          action: 'saml.login',
          resource: { type: 'user', id },
          outcome: 'success',
          reason: created ? 'provisioned' : undefined,
          changes: {
            before: created ? undefined : { roles: before },
            after: {
              email: person.email,
              roles: [role],
              connectionId: connection.id,
              groups: person.groups,
            },
          },
          ip: client.ip,
          userAgent: client.userAgent,
        });
        return { userId: id, provisioned: created };
      },
    );
    const { token } = await this.sessions.start(tenant.id, userId, client);
    this.logger.log(
      `SAML sign-in to tenant ${tenant.id} (user ${userId}${provisioned ? ', provisioned' : ''})`,
    );
    const relay = safeRelayState(body.RelayState);
    return { tenantId: tenant.id, userId, token, redirectTo: relay ?? '/' };
  }

  /** @throws NotFound for a slug that names no tenant (the operator's own `platform` included) */
  async tenant(
    slug: string,
  ): Promise<{ id: TenantId; slug: string; name: string; status: string }> {
    const tenant = await this.tenants.findBySlug(slug);
    if (!tenant) throw new NotFound('No such tenant.');
    return { ...tenant, id: asTenantId(tenant.id) };
  }

  private async enabledConnection(tenantId: TenantId): Promise<SamlConnection | undefined> {
    const connection = await this.db.inTenant(tenantId, (manager) =>
      manager.getRepository(SamlConnection).findOneBy({ tenantId, status: 'enabled' }),
    );
    return connection ?? undefined;
  }

  /**
   * node-saml's options for one tenant and connection (see the class comment); `requests` says
   * how this HTTP request uses the AuthnRequest id cache (the browser a new id is bound to, or
   * who hears which id a response consumed).
   */
  private samlOptions(
    tenant: { id: TenantId; slug: string },
    connection: SamlConnection,
    sp: SpCredentials,
    requests: RequestCacheUse,
  ): SamlConfig {
    return {
      issuer: this.spEntityId(tenant.slug),
      audience: this.spEntityId(tenant.slug),
      callbackUrl: this.acsUrl(tenant.slug),
      entryPoint: connection.ssoUrl,
      idpCert: connection.certificates.map((c) => c.pem),
      // A signed assertion is required; a signed response around it is accepted but not needed
      // (Google Workspace signs the assertion only).
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      acceptedClockSkewMs: this.config.SAML_CLOCK_SKEW_MS,
      validateInResponseTo: connection.allowIdpInitiated
        ? ValidateInResponseTo.ifPresent
        : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: this.config.SAML_REQUEST_TTL_MS,
      cacheProvider: this.redis.requestCache(tenant.id, requests),
      identifierFormat: null,
      disableRequestedAuthnContext: connection.omitRequestedAuthnContext,
      authnRequestBinding: connection.ssoBinding === 'post' ? 'HTTP-POST' : 'HTTP-Redirect',
      ...(connection.signAuthnRequests ? { privateKey: sp.privateKeyPem } : {}),
      decryptionPvk: sp.privateKeyPem,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
    };
  }

  /** Runs the strategy on one request, as passport would, and answers what it decided. */
  private run(request: StrategyRequest, options: SamlConfig): Promise<StrategyOutcome> {
    return new Promise<StrategyOutcome>((resolve, reject) => {
      const req: StrategyRequest = {
        ...request,
        [SAML_OPTIONS]: options,
        res: { send: (html: string) => resolve({ kind: 'html', html }) },
      };
      const run = Object.create(this.strategy) as MultiSamlStrategy & Record<string, unknown>;
      Object.assign(run, {
        success: (user: Profile) => resolve({ kind: 'success', profile: user }),
        fail: () => reject(new Error('Invalid SAML response')),
        redirect: (url: string) => resolve({ kind: 'redirect', url }),
        error: (error: Error) => reject(error),
        pass: () => reject(new Error('Not a SAML message')),
      });
      try {
        run.authenticate(req as never, {});
      } catch (error) {
        reject(error as Error);
      }
    });
  }
}

/**
 * A RelayState we may redirect to: a path on our own origin (`/console/...`), never an absolute
 * URL, a scheme-relative `//host` or a backslash trick that browsers read as one.
 *
 * @returns the path, or null when it is not one
 */
export function safeRelayState(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return null;
  const control = [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || control) {
    return null;
  }
  try {
    const base = 'https://relay.invalid';
    const url = new URL(value, base);
    if (url.origin !== base) return null;
    const path = `${url.pathname}${url.search}${url.hash}`;
    // Check what we would send, not what came in: dot-segments collapse (`/.//evil.example`
    // becomes `//evil.example`), and a browser reads a leading `//` or `/\` as another host.
    if (path.startsWith('//') || path.includes('\\') || !path.startsWith('/')) return null;
    return path;
  } catch {
    return null;
  }
}

/**
 * Refuses a response to AuthnRequest `id` unless the browser that posted it presents the login
 * cookie of the browser that started that request (login-binding.ts). `answered` holds what
 * node-saml consumed while validating: the browser hash stored with each id.
 *
 * @throws SamlLoginRefused `browser_mismatch` (no cookie, another browser's or another attempt's
 *   cookie, or an id stored without a browser); `in_response_to_invalid` when the id was spent
 *   meanwhile by a concurrent response
 */
function requireSameBrowser(
  id: string,
  answered: Map<string, string | null | undefined>,
  loginCookie: string | undefined,
): void {
  const stored = answered.get(id);
  if (stored === undefined) {
    throw new SamlLoginRefused(
      'in_response_to_invalid',
      `AuthnRequest ${id} was already answered.`,
    );
  }
  if (stored === null) {
    throw new SamlLoginRefused(
      'browser_mismatch',
      `AuthnRequest ${id} is bound to no browser (issued before sign-ins were bound to browsers); start again at the login URL.`,
    );
  }
  if (sameBrowser(stored, loginCookie)) return;
  throw new SamlLoginRefused(
    'browser_mismatch',
    loginCookie === undefined
      ? `This browser did not start the sign-in that answers AuthnRequest ${id} (no sign-in cookie; browsers keep it only over HTTPS or on localhost). A sign-in must end in the browser where it started.`
      : `AuthnRequest ${id} was started by another browser, or by an earlier sign-in that this browser has restarted since. A sign-in must end in the browser where it started.`,
  );
}

/** Maps node-saml's errors to stable reason codes (the message stays as the detail). */
function classify(error: Error): SamlLoginRefused {
  const message = error.message;
  const rules: [RegExp, string][] = [
    [/multiple assertions/i, 'multiple_assertions'],
    [/signature/i, 'signature_invalid'],
    [/not yet valid/i, 'assertion_not_yet_valid'],
    [/expired/i, 'assertion_expired'],
    [/AudienceRestriction|audience/i, 'audience_mismatch'],
    [/InResponseTo/i, 'in_response_to_invalid'],
    [/subject confirmation/i, 'subject_confirmation_invalid'],
    [/SAML provider returned/i, 'idp_status'],
    [/Missing SAML assertion/i, 'missing_assertion'],
    [/decrypt|EncryptedAssertion/i, 'decryption_failed'],
  ];
  const code = rules.find(([pattern]) => pattern.test(message))?.[1] ?? 'response_invalid';
  return new SamlLoginRefused(code, message.slice(0, 500));
}

function nodes(value: unknown): XmlNode[] {
  return Array.isArray(value) ? (value as XmlNode[]) : [];
}

const EMAIL = /^[^\s@]+@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** The person as the connection's mapping reads them from the verified profile. */
function readPerson(
  profile: Profile,
  mapping: AttributeMapping,
): { email: string; userKey: string; displayName: string | null; groups: string[] } {
  const read = (name: string | null): string[] => {
    if (!name) return [];
    if (name === 'nameID') return profile.nameID ? [profile.nameID] : [];
    const value = (profile.attributes as Record<string, unknown> | undefined)?.[name];
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return values.filter((v): v is string => typeof v === 'string');
  };
  const email = read(mapping.email)[0]?.trim().toLowerCase();
  if (!email || !EMAIL.test(email)) {
    throw new SamlLoginRefused(
      'missing_email',
      `The assertion has no valid email in ${mapping.email === 'nameID' ? 'its NameID' : `attribute ${mapping.email}`}.`,
    );
  }
  if (mapping.userKey === 'nameID' && profile.nameIDFormat === TRANSIENT) {
    throw new SamlLoginRefused(
      'transient_user_key',
      'Users are keyed by the NameID, but the IdP sent a transient one; send a persistent NameID or key users by an attribute.',
    );
  }
  const userKey = read(mapping.userKey)[0]?.trim();
  if (!userKey) {
    throw new SamlLoginRefused(
      'missing_user_key',
      `The assertion has no ${mapping.userKey === 'nameID' ? 'NameID' : `attribute ${mapping.userKey}`} to key the user by.`,
    );
  }
  const name = [read(mapping.firstName)[0], read(mapping.lastName)[0]].filter(Boolean).join(' ');
  return {
    email,
    userKey: mapping.userKey === mapping.email ? email : userKey,
    displayName: name ? name.slice(0, 200) : null,
    groups: read(mapping.groups),
  };
}
