import type { Actor } from '@app/core';

/** Roles a person or key may hold. Platform roles apply to the operator's staff. */
export const PLATFORM_ROLES = ['platform_admin', 'account_manager', 'compliance_officer'] as const;
export const TENANT_ROLES = [
  'tenant_admin',
  'ml_engineer',
  'compliance_officer',
  'viewer',
] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];
export type TenantRole = (typeof TENANT_ROLES)[number];
export type Role = PlatformRole | TenantRole;
/** Every role, platform and tenant (`compliance_officer` is both). */
export const ROLES: readonly Role[] = [...new Set<Role>([...PLATFORM_ROLES, ...TENANT_ROLES])];

/**
 * API key scopes: capabilities that are not roles. `inference` lets a tenant key call the
 * gateway; `usage:write` lets a platform key ingest usage events.
 */
export const API_KEY_SCOPES = ['inference', 'usage:write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * The operator's own organization. It is a row of `tenants` so that staff users and platform
 * keys are tenant-owned like everything else, under the same row-level security.
 */
export const PLATFORM_TENANT_ID = '00000000-0000-0000-0000-000000000000';

/** Who is calling, as established by authentication (identity library). */
export interface Principal {
  actor: Actor;
  /** The tenant the user or key belongs to; {@link PLATFORM_TENANT_ID} for operator staff. */
  homeTenantId: string;
  roles: Role[];
  scopes: ApiKeyScope[];
  /** Tenants an account manager is assigned to (empty for everyone else). */
  assignedTenantIds: string[];
  /** The session this request came with, for logout. */
  sessionId?: string;
  /**
   * Lifecycle status of the home tenant (`onboarding`, `active`, `suspended`, `offboarded`),
   * read with the credential. The guard refuses a suspended tenant's callers.
   */
  homeTenantStatus?: string;
}

/** The roles people and keys of `tenantId` may hold: platform roles for the operator's own. */
export function rolesOf(tenantId: string): readonly Role[] {
  return tenantId === PLATFORM_TENANT_ID ? PLATFORM_ROLES : TENANT_ROLES;
}

export function isPlatformPrincipal(principal: Principal): boolean {
  return principal.homeTenantId === PLATFORM_TENANT_ID;
}

/** Branded tenant id: service methods that touch tenant data take this, never a bare string. */
export type TenantId = string & { readonly __brand: 'TenantId' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * @throws Error when `value` is not a UUID: a missing tenant is a bug, never "any tenant".
 */
export function asTenantId(value: string | undefined | null): TenantId {
  if (!isUuid(value)) throw new Error(`not a tenant id: ${String(value)}`);
  return value.toLowerCase() as TenantId;
}
