import { PLATFORM_TENANT_ID, rolesOf, TenantDb, TenantId } from '@app/authz';
import {
  Actor,
  actorRef,
  AppConfig,
  FieldError,
  InjectConfig,
  NotFound,
  Page,
  RequestContext,
  tenantRowsNewestFirst,
  ValidationFailed,
} from '@app/core';
import { TenantService } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { SsoDomain } from '../domains/sso-domain.entity';
import { certificateStanding, parseCertificate } from '../saml/certificates';
import { parseIdpMetadata } from '../saml/idp-metadata';
import { SamlLoginService } from '../saml/saml-login.service';
import { SamlConnectionAlreadyEnabled } from '../sso-problems';
import { SamlConnection } from './saml-connection.entity';
import {
  AttributeMapping,
  MappingPreset,
  PRESETS,
  RoleRule,
  StoredCertificate,
} from './saml-connection.types';

/** What create and update take (the DTOs have checked shapes; the service checks meaning). */
export interface SamlConnectionInput {
  name?: string;
  metadataXml?: string;
  idpEntityId?: string;
  ssoUrl?: string;
  ssoBinding?: 'redirect' | 'post';
  certificates?: string[];
  attributeMapping?: Partial<AttributeMapping> & { preset?: MappingPreset };
  roleRules?: RoleRule[];
  defaultRole?: string | null;
  allowIdpInitiated?: boolean;
  signAuthnRequests?: boolean;
  omitRequestedAuthnContext?: boolean;
}

/**
 * A tenant's SAML connections: created from IdP metadata or from fields, changed, enabled (one
 * at a time), disabled, tested and deleted, in the request's tenant-scoped transaction.
 */
@Injectable()
export class SamlConnectionService {
  constructor(
    private readonly db: TenantDb,
    private readonly context: RequestContext,
    private readonly tenants: TenantService,
    private readonly login: SamlLoginService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** @returns the connection, disabled. @throws ValidationFailed with field errors */
  async create(tenantId: TenantId, input: SamlConnectionInput, by: Actor): Promise<SamlConnection> {
    const roleRules = checkedRoleRules(tenantId, input.roleRules ?? []);
    const defaultRole = checkedDefaultRole(tenantId, input.defaultRole ?? null);
    const idp = this.idpFields(input, true);
    const repository = this.db.manager.getRepository(SamlConnection);
    const saved = await repository.save(
      repository.create({
        tenantId,
        name: input.name,
        status: 'disabled',
        idpEntityId: idp.idpEntityId,
        ssoUrl: idp.ssoUrl,
        ssoBinding: idp.ssoBinding ?? 'redirect',
        certificates: idp.certificates,
        attributeMapping: mappingOf(input.attributeMapping ?? { preset: 'okta' }),
        roleRules,
        defaultRole,
        allowIdpInitiated: input.allowIdpInitiated ?? false,
        signAuthnRequests: input.signAuthnRequests ?? false,
        omitRequestedAuthnContext: input.omitRequestedAuthnContext ?? false,
        createdBy: actorRef(by),
        updatedBy: actorRef(by),
      }),
    );
    return this.get(tenantId, saved.id);
  }

  async list(tenantId: TenantId, limit: number, after?: string): Promise<Page<SamlConnection>> {
    return tenantRowsNewestFirst(this.db.manager, SamlConnection, tenantId, limit, after);
  }

  /** @throws NotFound (another tenant's included) */
  async get(tenantId: TenantId, id: string): Promise<SamlConnection> {
    const connection = await this.db.manager
      .getRepository(SamlConnection)
      .findOneBy({ tenantId, id });
    if (!connection) throw new NotFound('No such SAML connection.');
    return connection;
  }

  /** Changes any field; `metadataXml` replaces entity ID, SSO URL and certificates. */
  async update(
    tenantId: TenantId,
    id: string,
    input: SamlConnectionInput,
    by: Actor,
  ): Promise<SamlConnection> {
    if (Object.values(input).every((value) => value === undefined)) {
      throw new ValidationFailed('Nothing to change.', {
        errors: [{ path: '(body)', message: 'send at least one field to change' }],
      });
    }
    const current = await this.lock(tenantId, id);
    const idp = this.idpFields(input, false);
    await this.db.manager.getRepository(SamlConnection).update(
      { tenantId, id },
      {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...idp,
        ...(input.attributeMapping !== undefined
          ? {
              attributeMapping: mappingOf({
                ...(input.attributeMapping.preset ? {} : current.attributeMapping),
                ...input.attributeMapping,
              }),
            }
          : {}),
        ...(input.roleRules !== undefined
          ? { roleRules: checkedRoleRules(tenantId, input.roleRules) }
          : {}),
        ...(input.defaultRole !== undefined
          ? { defaultRole: checkedDefaultRole(tenantId, input.defaultRole) }
          : {}),
        ...(input.allowIdpInitiated !== undefined
          ? { allowIdpInitiated: input.allowIdpInitiated }
          : {}),
        ...(input.signAuthnRequests !== undefined
          ? { signAuthnRequests: input.signAuthnRequests }
          : {}),
        ...(input.omitRequestedAuthnContext !== undefined
          ? { omitRequestedAuthnContext: input.omitRequestedAuthnContext }
          : {}),
        updatedAt: () => 'now()',
        updatedBy: actorRef(by),
      },
    );
    return this.get(tenantId, id);
  }

  /**
   * @throws NotFound; SamlConnectionAlreadyEnabled (409) when another one is enabled;
   * ValidationFailed (400, `ssoUrl`) when enabling a connection whose IdP SSO URL is not https
   * (people's browsers would carry the AuthnRequest and RelayState in the clear)
   */
  async setStatus(
    tenantId: TenantId,
    id: string,
    status: 'enabled' | 'disabled',
    by: Actor,
  ): Promise<SamlConnection> {
    const current = await this.lock(tenantId, id);
    const repository = this.db.manager.getRepository(SamlConnection);
    if (status === 'enabled' && !current.ssoUrl.startsWith('https://')) {
      throw new ValidationFailed('Only a connection whose IdP SSO URL is https can be enabled.', {
        errors: [{ path: 'ssoUrl', message: 'must be an https URL to enable the connection' }],
      });
    }
    if (status === 'enabled') {
      const other = await repository.findOneBy({ tenantId, status: 'enabled' });
      if (other && other.id !== id) {
        throw new SamlConnectionAlreadyEnabled(
          `Connection ${other.id} (${other.name}) is enabled; disable it first.`,
          { extensions: { enabledConnectionId: other.id } },
        );
      }
    }
    try {
      await this.db.manager.transaction((tx) =>
        tx
          .getRepository(SamlConnection)
          .update({ tenantId, id }, { status, updatedAt: () => 'now()', updatedBy: actorRef(by) }),
      );
    } catch (error) {
      if (
        error instanceof QueryFailedError &&
        (error.driverError as { code?: string }).code === '23505'
      ) {
        throw new SamlConnectionAlreadyEnabled('Another connection was enabled at the same time.');
      }
      throw error;
    }
    return this.get(tenantId, id);
  }

  /** @throws NotFound */
  async remove(tenantId: TenantId, id: string): Promise<void> {
    await this.lock(tenantId, id);
    await this.db.manager.getRepository(SamlConnection).delete({ tenantId, id });
  }

  /**
   * Checks a connection without signing anyone in: usable certificates, a verified domain, a
   * way to get a role, and an AuthnRequest built for it (its redirect URL, to try by hand).
   */
  async test(tenantId: TenantId, id: string): Promise<ConnectionTestResult> {
    const connection = await this.get(tenantId, id);
    const tenant = await this.tenants.signInTarget(tenantId);
    const now = new Date();
    const usable = connection.certificates.filter(
      (c) => !certificateStanding(c, now, this.config.SAML_CERT_EXPIRY_WARNING_DAYS).expired,
    );
    const verified = await this.db.manager
      .getRepository(SsoDomain)
      .countBy({ tenantId, status: 'verified' });
    const checks: ConnectionTestResult['checks'] = [
      {
        name: 'certificates',
        ok: usable.length > 0,
        detail: `${usable.length} of ${connection.certificates.length} signing certificates are valid now`,
      },
      {
        name: 'verified_domain',
        ok: verified > 0,
        detail: `${verified} verified domains (people sign in only with an email of one)`,
      },
      {
        name: 'roles',
        ok: connection.roleRules.length > 0 || connection.defaultRole !== null,
        detail: `${connection.roleRules.length} group rules, default role ${connection.defaultRole ?? 'none'}`,
      },
      {
        name: 'sso_url',
        ok: connection.ssoUrl.startsWith('https://'),
        detail: connection.ssoUrl.startsWith('https://') ? 'https' : 'the IdP SSO URL is not https',
      },
    ];
    let authnRequestUrl: string | null = null;
    try {
      const started = await this.login.startLogin(tenant.slug, undefined, { connection });
      authnRequestUrl = 'redirect' in started ? started.redirect : null;
      checks.push({ name: 'authn_request', ok: true, detail: 'an AuthnRequest was built' });
    } catch (error) {
      checks.push({ name: 'authn_request', ok: false, detail: (error as Error).message });
    }
    return { ok: checks.every((c) => c.ok), checks, authnRequestUrl };
  }

  /** What people see: certificates with expiry standing and warnings, never PEM bodies. */
  async view(connection: SamlConnection): Promise<SamlConnectionView> {
    const tenant = await this.tenants.signInTarget(connection.tenantId as TenantId);
    const now = new Date();
    const warnings: string[] = [];
    const certificates = connection.certificates.map((c) => {
      const standing = certificateStanding(c, now, this.config.SAML_CERT_EXPIRY_WARNING_DAYS);
      if (standing.expired) warnings.push(`certificate ${c.fingerprint} expired on ${c.notAfter}`);
      else if (standing.expiresSoon) {
        warnings.push(
          `certificate ${c.fingerprint} expires on ${c.notAfter} (in ${standing.daysLeft} days): add its successor now`,
        );
      }
      return {
        fingerprint: c.fingerprint,
        subject: c.subject,
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        expired: standing.expired,
        expiresSoon: standing.expiresSoon,
      };
    });
    return {
      id: connection.id,
      name: connection.name,
      status: connection.status,
      idpEntityId: connection.idpEntityId,
      ssoUrl: connection.ssoUrl,
      ssoBinding: connection.ssoBinding,
      certificates,
      warnings,
      attributeMapping: connection.attributeMapping,
      roleRules: connection.roleRules,
      defaultRole: connection.defaultRole,
      allowIdpInitiated: connection.allowIdpInitiated,
      signAuthnRequests: connection.signAuthnRequests,
      omitRequestedAuthnContext: connection.omitRequestedAuthnContext,
      serviceProvider: {
        entityId: this.login.spEntityId(tenant.slug),
        acsUrl: this.login.acsUrl(tenant.slug),
        metadataUrl: this.login.spEntityId(tenant.slug),
        loginUrl: this.login.loginUrl(tenant.slug),
      },
      createdAt: connection.createdAt.toISOString(),
      updatedAt: connection.updatedAt.toISOString(),
    };
  }

  private async lock(tenantId: TenantId, id: string): Promise<SamlConnection> {
    const connection = await this.db.manager
      .getRepository(SamlConnection)
      .createQueryBuilder('c')
      .setLock('pessimistic_write')
      .where('c.tenant_id = :tenantId AND c.id = :id', { tenantId, id })
      .getOne();
    if (!connection) throw new NotFound('No such SAML connection.');
    this.context.recordBefore(await this.view(connection));
    return connection;
  }

  /**
   * Entity ID, SSO URL and binding, and certificates from `metadataXml` or from the fields (not
   * both). On create they are required.
   */
  private idpFields(
    input: SamlConnectionInput,
    required: boolean,
  ): {
    idpEntityId?: string;
    ssoUrl?: string;
    ssoBinding?: 'redirect' | 'post';
    certificates?: StoredCertificate[];
  } {
    const errors: FieldError[] = [];
    const explicit = (['idpEntityId', 'ssoUrl', 'certificates'] as const).filter(
      (field) => input[field] !== undefined,
    );
    if (input.metadataXml !== undefined) {
      if (explicit.length) {
        throw new ValidationFailed('Send metadataXml or the IdP fields, not both.', {
          errors: explicit.map((path) => ({ path, message: 'not allowed with metadataXml' })),
        });
      }
      const metadata = parseIdpMetadata(input.metadataXml);
      if (typeof metadata === 'string') {
        throw new ValidationFailed('The IdP metadata cannot be used.', {
          errors: [{ path: 'metadataXml', message: metadata }],
        });
      }
      return {
        idpEntityId: metadata.entityId,
        ssoUrl: metadata.ssoUrl,
        ssoBinding: metadata.ssoBinding,
        certificates: metadata.certificates,
      };
    }
    if (required) {
      for (const field of ['idpEntityId', 'ssoUrl', 'certificates'] as const) {
        if (input[field] === undefined) {
          errors.push({ path: field, message: `required unless metadataXml is sent` });
        }
      }
    }
    const certificates: StoredCertificate[] = [];
    input.certificates?.forEach((pem, index) => {
      const parsed = parseCertificate(pem);
      if (typeof parsed === 'string')
        errors.push({ path: `certificates[${index}]`, message: parsed });
      else if (!certificates.some((c) => c.fingerprint === parsed.fingerprint))
        certificates.push(parsed);
    });
    if (errors.length) {
      throw new ValidationFailed(`${errors.length} field(s) are invalid.`, { errors });
    }
    return {
      ...(input.idpEntityId !== undefined ? { idpEntityId: input.idpEntityId } : {}),
      ...(input.ssoUrl !== undefined ? { ssoUrl: input.ssoUrl } : {}),
      ...(input.ssoBinding !== undefined ? { ssoBinding: input.ssoBinding } : {}),
      ...(input.certificates !== undefined ? { certificates } : {}),
    };
  }
}

/** A preset filled in (explicit fields override it); `custom` needs `email` and `userKey`. */
function mappingOf(input: Partial<AttributeMapping>): AttributeMapping {
  const preset = input.preset ?? 'custom';
  const base = preset === 'custom' ? undefined : PRESETS[preset];
  const mapping: AttributeMapping = {
    preset,
    email: input.email ?? base?.email ?? '',
    firstName: input.firstName !== undefined ? input.firstName : (base?.firstName ?? null),
    lastName: input.lastName !== undefined ? input.lastName : (base?.lastName ?? null),
    groups: input.groups !== undefined ? input.groups : (base?.groups ?? null),
    userKey: input.userKey ?? base?.userKey ?? '',
  };
  const errors: FieldError[] = [];
  if (!mapping.email)
    errors.push({ path: 'attributeMapping.email', message: 'required for a custom mapping' });
  if (!mapping.userKey) {
    errors.push({ path: 'attributeMapping.userKey', message: 'required for a custom mapping' });
  }
  if (errors.length) throw new ValidationFailed('The attribute mapping is incomplete.', { errors });
  return mapping;
}

/** What a role of this organization must be, for a field error. */
function roleKind(tenantId: TenantId): string {
  const kind = tenantId === PLATFORM_TENANT_ID ? 'a platform role' : 'a tenant role';
  return `must be ${kind} (${rolesOf(tenantId).join(', ')})`;
}

/**
 * A customer's connection grants tenant roles only, the operator's own platform roles only: a
 * group rule can never make a customer's employee operator staff, or the reverse.
 *
 * @throws ValidationFailed naming each `roleRules[i].role` of the wrong kind
 */
function checkedRoleRules(tenantId: TenantId, rules: RoleRule[]): RoleRule[] {
  const allowed = rolesOf(tenantId);
  const errors = rules.flatMap((rule, i) =>
    allowed.includes(rule.role)
      ? []
      : [{ path: `roleRules[${i}].role`, message: roleKind(tenantId) }],
  );
  if (errors.length) {
    throw new ValidationFailed('A group rule grants a role this organization does not have.', {
      errors,
    });
  }
  return rules;
}

/** @throws ValidationFailed on `defaultRole` when it is not a role of this organization */
function checkedDefaultRole(tenantId: TenantId, role: string | null): string | null {
  if (role !== null && !(rolesOf(tenantId) as readonly string[]).includes(role)) {
    throw new ValidationFailed('defaultRole is not a role of this organization.', {
      errors: [{ path: 'defaultRole', message: `${roleKind(tenantId)} or null` }],
    });
  }
  return role;
}

export interface ConnectionTestResult {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
  authnRequestUrl: string | null;
}

export interface SamlConnectionView {
  id: string;
  name: string;
  status: 'enabled' | 'disabled';
  idpEntityId: string;
  ssoUrl: string;
  ssoBinding: 'redirect' | 'post';
  certificates: {
    fingerprint: string;
    subject: string;
    notBefore: string;
    notAfter: string;
    expired: boolean;
    expiresSoon: boolean;
  }[];
  warnings: string[];
  attributeMapping: AttributeMapping;
  roleRules: RoleRule[];
  defaultRole: string | null;
  allowIdpInitiated: boolean;
  signAuthnRequests: boolean;
  omitRequestedAuthnContext: boolean;
  serviceProvider: { entityId: string; acsUrl: string; metadataUrl: string; loginUrl: string };
  createdAt: string;
  updatedAt: string;
}
