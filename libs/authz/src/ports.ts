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

/** What the guard needs from the tenancy library: whether a tenant exists. */
export interface TenantDirectory {
  /** @returns the tenant's status, or null when there is no such customer tenant */
  lookup(tenantId: string): Promise<{ id: string; status: string } | null>;
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
