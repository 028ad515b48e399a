/** A tenant's lifecycle status. */
export const TENANT_STATUSES = ['onboarding', 'active', 'suspended', 'offboarded'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** What staff may do to a tenant's status (`POST /v1/tenants/{tenantId}/<action>`). */
export type TenantLifecycleAction = 'activate' | 'suspend' | 'offboard';

/**
 * The allowed transitions, the one table the service and the tests use: from each status, the
 * status each action leads to. Missing entries are illegal (409 `illegal_tenant_transition`).
 * Offboarded is final.
 */
export const TENANT_TRANSITIONS: Readonly<
  Record<TenantStatus, Partial<Record<TenantLifecycleAction, TenantStatus>>>
> = {
  onboarding: { activate: 'active', offboard: 'offboarded' },
  active: { suspend: 'suspended', offboard: 'offboarded' },
  suspended: { activate: 'active', offboard: 'offboarded' },
  offboarded: {},
};

/** The status `action` leads to from `from`, or undefined when the table does not allow it. */
export function nextTenantStatus(
  from: TenantStatus,
  action: TenantLifecycleAction,
): TenantStatus | undefined {
  return TENANT_TRANSITIONS[from][action];
}
