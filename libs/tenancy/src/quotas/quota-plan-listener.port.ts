import type { TenantId } from '@app/authz';

/**
 * Told when a tenant's quota plan may have changed: a contract of the tenant was activated,
 * amended, terminated or otherwise changed, or the tenant changed status. The metering library
 * implements it (binding {@link QUOTA_PLAN_LISTENER}) so that reservations on every replica use
 * the new limits from the next call. Called inside the changing transaction; implementations
 * defer their effect until it commits.
 */
export interface QuotaPlanListener {
  planMayHaveChanged(tenantId: TenantId): void;
}
export const QUOTA_PLAN_LISTENER = Symbol('QUOTA_PLAN_LISTENER');
