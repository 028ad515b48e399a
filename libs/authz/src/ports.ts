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
   * (`app_current_tenant()`) is a customer tenant that requests may reach.
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
