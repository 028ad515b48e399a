import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Action, SubjectType } from './ability';

export const POLICY_METADATA = 'authz:policy';

/**
 * Which tenant a route works on:
 * - `tenant`: the `:tenantId` path parameter, or the caller's own tenant when there is none;
 * - `platform`: every tenant, for operator staff (an explicit RLS bypass, narrowed by SQL
 *   conditions from the caller's rules); other callers get their own tenant;
 * - `operator`: the operator's own organization (platform keys and staff users); others get 404.
 * - `member`: the caller's own customer tenant, for routes that take the tenant from the caller
 *   (the OpenAI-compatible `/v1/files`, `/v1/fine_tuning/jobs`); operator staff get 403
 *   `tenant_caller_required` (they act on a tenant through its `/v1/tenants/{tenantId}` routes).
 */
export type RouteScope = 'tenant' | 'platform' | 'operator' | 'member';

/** A route's declared policy. */
export interface RoutePolicy {
  action: Action;
  subject: SubjectType;
  scope: RouteScope;
}

/** Marker policy: any authenticated caller, no permission needed (`/v1/me`, logout). */
export const AUTHENTICATED: RoutePolicy = { action: 'read', subject: 'Self', scope: 'tenant' };

/**
 * Declares the permission a route needs: `@CheckPolicies('create', 'ApiKey')`. The guard checks
 * it against the tenant the request is for before the handler runs; missing → 403 problem
 * naming the permission. Every non-public route must declare one (checked at boot).
 */
export function CheckPolicies(
  action: Action,
  subject: SubjectType,
  options: { scope?: RouteScope } = {},
) {
  const policy: RoutePolicy = { action, subject, scope: options.scope ?? 'tenant' };
  return applyDecorators(
    SetMetadata(POLICY_METADATA, policy),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({
      description: 'problem+json: missing, unknown, revoked or expired credentials',
    }),
    ApiForbiddenResponse({
      description: `problem+json: lacks permission \`${action} ${subject}\``,
    }),
  );
}

/** The route only needs an authenticated caller. */
export function Authenticated() {
  return applyDecorators(
    SetMetadata(POLICY_METADATA, AUTHENTICATED),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'problem+json: missing or invalid credentials' }),
  );
}

export const OUTSIDE_REQUEST_TRANSACTION = 'authz:outsideRequestTransaction';

/**
 * The handler runs outside the request's transaction (the scope is still resolved, checked and
 * set): for long streaming responses, which open a short transaction per batch
 * (`TenantDb.inTenant`) instead of holding one open while the client reads.
 */
export function OutsideRequestTransaction(): MethodDecorator {
  return SetMetadata(OUTSIDE_REQUEST_TRANSACTION, true);
}

export const ALLOWED_ON_OFFBOARDED_TENANT = 'authz:allowedOnOffboardedTenant';

/**
 * This write may run on an offboarded tenant (which refuses every other write with 409
 * `tenant_offboarded`): for what must stay possible after the end, such as pulling an audit
 * report. It changes no tenant data beyond its own record.
 */
export function AllowedOnOffboardedTenant(): MethodDecorator {
  return SetMetadata(ALLOWED_ON_OFFBOARDED_TENANT, true);
}

export const OPERATOR_TENANT_IN_PATH = 'authz:operatorTenantInPath';

/**
 * The route also takes the operator's own organization as `:tenantId` (`PLATFORM_TENANT_ID`), for operator staff only: the platform's own SSO (its SAML connection
 * and verified domains) is configured through the same routes as a customer's. Every other
 * route answers 404 for that id, so no customer-facing feature reaches the operator's data by
 * accident. The route's policy still decides who may act (platform admins: `manage all`).
 */
export function OperatorTenantInPath(): ClassDecorator & MethodDecorator {
  return SetMetadata(OPERATOR_TENANT_IN_PATH, true);
}
