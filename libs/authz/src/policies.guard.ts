import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  AppConfig,
  InjectConfig,
  IS_PUBLIC,
  MetricsService,
  NotFound,
  RequestContext,
} from '@app/core';
import type { Request } from 'express';
import { ClsService } from 'nestjs-cls';
import { AppAbility, buildAbility, subjectOf } from './ability';
import { AccessDeniedEvent, AccessEvents } from './access-events';
import {
  CredentialsRequired,
  CrossSiteRequestRefused,
  InvalidCredentials,
  MissingPermission,
  TenantCallerRequired,
  TenantSuspended,
} from './authz-problems';
import {
  ALLOWED_ON_OFFBOARDED_TENANT,
  OPERATOR_TENANT_IN_PATH,
  AUTHENTICATED,
  POLICY_METADATA,
  RoutePolicy,
} from './policy.decorators';
import { AUTHENTICATOR, Authenticator, SESSION_COOKIE } from './ports';
import {
  asTenantId,
  isPlatformPrincipal,
  isUuid,
  PLATFORM_TENANT_ID,
  Principal,
} from './principal';
import { DbScope } from './tenant-db';

export const CLS_PRINCIPAL = 'authz.principal';
export const CLS_ABILITY = 'authz.ability';
export const CLS_REQUEST_SCOPE = 'authz.requestScope';

const WWW_AUTHENTICATE = 'Bearer realm="control-plane"';

/**
 * The global guard; denies by default. For every non-public route it (1) authenticates the
 * bearer token or session cookie, (2) resolves the tenant the request is for and hides other
 * tenants behind 404, (3) builds the caller's ability and checks the route's declared policy,
 * and (4) records principal, ability and database scope in the request context for the
 * transaction interceptor and the services.
 */
@Injectable()
export class PoliciesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly cls: ClsService,
    private readonly context: RequestContext,
    private readonly events: AccessEvents,
    private readonly metrics: MetricsService,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async canActivate(execution: ExecutionContext): Promise<boolean> {
    const targets = [execution.getHandler(), execution.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = execution.switchToHttp().getRequest<Request>();
    const policy = this.reflector.getAllAndOverride<RoutePolicy | undefined>(
      POLICY_METADATA,
      targets,
    );

    const credential = credentialOf(request);
    if (!credential) {
      await this.deny(request, { status: 401, reason: 'unauthenticated' });
      throw new CredentialsRequired('No credentials were presented.', {
        headers: { 'WWW-Authenticate': WWW_AUTHENTICATE },
      });
    }
    if (!crossSiteSafe(request, this.config.PUBLIC_URL)) {
      await this.deny(request, { status: 403, reason: 'cross_site_request' });
      throw new CrossSiteRequestRefused(
        'A cookie-authenticated write must come from this site; send Authorization: Bearer from other clients.',
      );
    }
    const principal = await this.authenticator.authenticate(credential, request);
    if (!principal) {
      await this.deny(request, { status: 401, reason: 'invalid_credentials' });
      throw new InvalidCredentials('The credentials are unknown, revoked or expired.', {
        headers: { 'WWW-Authenticate': `${WWW_AUTHENTICATE}, error="invalid_token"` },
      });
    }
    this.cls.set(CLS_PRINCIPAL, principal);
    this.context.set({ actor: principal.actor });
    if (principal.homeTenantStatus === 'suspended') {
      await this.deny(request, {
        status: 403,
        reason: 'tenant_suspended',
        actor: principal.actor,
        callerTenantId: principal.homeTenantId,
        tenantId: principal.homeTenantId,
      });
      throw new TenantSuspended('Your tenant is suspended; contact your account manager.');
    }

    if (!policy) {
      // Deny by default: a route without a policy is a bug (the boot check should have caught it).
      await this.deny(request, { status: 403, reason: 'no_policy', actor: principal.actor });
      throw new MissingPermission('This route declares no policy.');
    }

    const scope = await this.resolveScope(
      request,
      policy,
      principal,
      execution.getHandler(),
      execution.getClass(),
    );
    const ability = buildAbility(principal);
    this.cls.set(CLS_ABILITY, ability);
    if (policy !== AUTHENTICATED && !this.permits(ability, policy, scope)) {
      await this.deny(request, {
        status: 403,
        reason: 'missing_permission',
        actor: principal.actor,
        callerTenantId: principal.homeTenantId,
        tenantId: scope.kind === 'tenant' ? scope.tenantId : undefined,
        action: policy.action,
        subject: policy.subject,
      });
      throw new MissingPermission(`Missing permission: ${policy.action} ${policy.subject}.`, {
        extensions: { missingPermission: { action: policy.action, subject: policy.subject } },
      });
    }
    this.cls.set(CLS_REQUEST_SCOPE, scope);
    if (scope.kind === 'tenant') this.context.set({ tenantId: scope.tenantId });
    else
      await this.events.platformAccess({
        actor: principal.actor,
        reason: scope.reason,
        requestId: this.context.requestId,
      });
    return true;
  }

  /**
   * The tenant a request is for: its `:tenantId` (which must exist and be reachable by the
   * caller, else 404), or for platform-scope routes called by staff, platform-wide; otherwise
   * the caller's own tenant.
   */
  private async resolveScope(
    request: Request,
    policy: RoutePolicy,
    principal: Principal,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    handler: Function,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    controller: Function,
  ): Promise<DbScope> {
    const raw = request.params?.tenantId as string | string[] | undefined;
    const param = Array.isArray(raw) ? raw[0] : raw;
    if (param !== undefined) {
      // Existence is checked in the request transaction's first round trip (TenantDb `verify`).
      const tenantId = isUuid(param) ? param.toLowerCase() : undefined;
      const reachable =
        tenantId !== undefined &&
        (tenantId === PLATFORM_TENANT_ID
          ? isPlatformPrincipal(principal) &&
            this.reflector.getAllAndOverride<boolean | undefined>(OPERATOR_TENANT_IN_PATH, [
              handler,
              controller,
            ]) === true
          : reaches(principal, tenantId));
      if (!reachable) {
        await this.deny(request, {
          status: 404,
          reason: 'tenant_not_reachable',
          actor: principal.actor,
          callerTenantId: principal.homeTenantId,
          tenantId: param,
        });
        throw new NotFound('No such tenant.');
      }
      const allowOffboarded = this.reflector.get<boolean | undefined>(
        ALLOWED_ON_OFFBOARDED_TENANT,
        handler,
      );
      return { kind: 'tenant', tenantId: asTenantId(tenantId), verify: true, allowOffboarded };
    }
    if (policy.scope === 'member' && isPlatformPrincipal(principal)) {
      await this.deny(request, {
        status: 403,
        reason: 'tenant_caller_required',
        actor: principal.actor,
        callerTenantId: principal.homeTenantId,
      });
      throw new TenantCallerRequired(
        'Operator staff belong to no customer tenant: call with the tenant’s API key or a member’s session, or use the /v1/tenants/{tenantId}/... routes.',
      );
    }
    if (policy.scope === 'operator') {
      if (!isPlatformPrincipal(principal)) {
        await this.deny(request, {
          status: 404,
          reason: 'tenant_not_reachable',
          actor: principal.actor,
          callerTenantId: principal.homeTenantId,
        });
        throw new NotFound('Not found.');
      }
      return { kind: 'tenant', tenantId: asTenantId(PLATFORM_TENANT_ID) };
    }
    if (policy.scope === 'platform' && isPlatformPrincipal(principal)) {
      return {
        kind: 'platform',
        reason: `${request.method} ${request.route?.path ?? request.path} by ${principal.actor.type}:${principal.actor.id}`,
      };
    }
    return { kind: 'tenant', tenantId: asTenantId(principal.homeTenantId) };
  }

  /** Checks the policy on the tenant the request is for, never on the subject type alone. */
  private permits(ability: AppAbility, policy: RoutePolicy, scope: DbScope): boolean {
    if (scope.kind === 'platform') return ability.can(policy.action, policy.subject);
    const record =
      policy.subject === 'Tenant'
        ? { id: scope.tenantId, tenantId: scope.tenantId }
        : { tenantId: scope.tenantId };
    return ability.can(policy.action, subjectOf(policy.subject, record));
  }

  private async deny(
    request: Request,
    event: Omit<AccessDeniedEvent, 'method' | 'path' | 'requestId'>,
  ): Promise<void> {
    this.metrics.accessDenied.inc({ status_code: String(event.status), reason: event.reason });
    await this.events.denied({
      ...event,
      method: request.method,
      path: request.originalUrl.split('?')[0],
      requestId: this.context.requestId,
    });
  }
}

/** Whether the principal may see the tenant at all (else its existence is hidden: 404). */
export function reaches(principal: Principal, tenantId: string): boolean {
  if (!isPlatformPrincipal(principal)) return principal.homeTenantId === tenantId;
  if (principal.roles.includes('platform_admin') || principal.roles.includes('compliance_officer'))
    return true;
  return (
    principal.roles.includes('account_manager') && principal.assignedTenantIds.includes(tenantId)
  );
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for the session cookie (OWASP CSRF Prevention Cheat Sheet, "Fetch Metadata" and
 * "Verifying Origin with standard headers"). A cookie is sent by the browser whatever page made
 * the request, so a write that presents only the cookie must prove it comes from our own origin:
 * `Sec-Fetch-Site: same-origin` (W3C Fetch Metadata; `same-site` is refused, since a sibling
 * subdomain may be someone else's), or, from a browser that sends no Fetch Metadata, an `Origin`
 * equal to `PUBLIC_URL`. Neither header: refused (every current browser sends `Origin` on writes).
 * Requests with `Authorization` are not subject to it: a browser never adds that header on its
 * own, so another site cannot make a victim's browser send it.
 */
export function crossSiteSafe(request: Request, publicUrl: string): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  if (request.header('authorization')) return true;
  const site = request.header('sec-fetch-site');
  if (site) return site === 'same-origin';
  const origin = request.header('origin');
  return origin !== undefined && origin === publicUrl;
}

/**
 * The raw credential a request presents: `Authorization: Bearer <token>`, else the session
 * cookie. Also keys the encryption of stored idempotent responses; never log it.
 */
export function credentialOf(request: Request): string | undefined {
  const header = request.header('authorization');
  if (header) {
    const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
    return match?.[1];
  }
  const token = cookieOf(request, SESSION_COOKIE);
  // The cookie carries session tokens only, never API keys (those are for Authorization).
  return token !== undefined && /^cps_[A-Za-z0-9_-]{1,128}$/.test(token) ? token : undefined;
}

/**
 * The value of the first cookie named `name` in the request's `Cookie` header (RFC 6265 §5.4:
 * `name=value` pairs separated by `; `), as sent: not decoded. Undefined when absent.
 */
export function cookieOf(request: Request, name: string): string | undefined {
  const cookie = request.header('cookie');
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}
