import type { EntityManager } from 'typeorm';
import type { Request } from 'express';
import type { Principal, Role } from './principal';

/**
 * What authentication needs from the identity library: turn a presented credential into a
 * principal. Implemented there and bound to {@link AUTHENTICATOR}.
 */
export interface Authenticator {
  /**
   * @param credential the bearer token or session cookie value, as presented
   * @returns the principal, or null when the credential is unknown, revoked or expired
   */
  authenticate(credential: string, request: Request): Promise<Principal | null>;
}
export const AUTHENTICATOR = Symbol('AUTHENTICATOR');

/** What authorization needs from the tenancy library. */
export interface TenantDirectory {
  /**
   * A statement, run inside a tenant-scoped transaction right after the RLS settings (same round
   * trip), answering one row with a boolean `tenant_exists`: whether the scope's tenant
   * (`app_current_tenant()`) is a customer tenant that requests may reach; and `tenant_status`,
   * its lifecycle status (null when it does not exist). Writes to an `offboarded` tenant are
   * refused there (409 `tenant_offboarded`).
   */
  readonly scopeCheckSql: string;
  /** Tenants the user is assigned to as account manager. */
  assignedTenantIds(userId: string): Promise<string[]>;
}
export const TENANT_DIRECTORY = Symbol('TENANT_DIRECTORY');

/** What tenancy needs from identity to validate assignments, without reading its tables. */
export interface StaffDirectory {
  /** @returns true when the user is active operator staff holding `role` */
  hasPlatformRole(userId: string, role: Role): Promise<boolean>;
}
export const STAFF_DIRECTORY = Symbol('STAFF_DIRECTORY');

/** Name of the session cookie (HttpOnly, Secure, SameSite=Lax). */
export const SESSION_COOKIE = 'cp_session';

/** A mutating request as the audit log sees it (one per non-GET, non-HEAD authorized request). */
export interface MutationInfo {
  method: string;
  /** The route template, e.g. `/v1/tenants/:tenantId/contracts/:id/activate`. */
  route: string;
  params: Record<string, string>;
  /** The route's declared policy; undefined for routes open to any authenticated caller. */
  policy?: { action: string; subject: string };
  /** The chain the change belongs to: the request's tenant, or null for platform-wide work. */
  tenantId: string | null;
}

/** How a mutation that did not commit ended: the problem the client received. */
export interface MutationFailure {
  status: number;
  code: string;
  detail?: string;
}

/**
 * What authorization needs from the audit library to record every mutating route without
 * scattered calls. Bound to {@link MUTATION_AUDITOR} when the audit library is loaded.
 */
export interface MutationAuditor {
  /** Called inside the request's transaction after the handler returned: commits with it. */
  succeeded(manager: EntityManager, mutation: MutationInfo, result: unknown): Promise<void>;
  /** Called after the request's change was rolled back; writes in a transaction of its own. */
  failed(mutation: MutationInfo, failure: MutationFailure): Promise<void>;
}
export const MUTATION_AUDITOR = Symbol('MUTATION_AUDITOR');
