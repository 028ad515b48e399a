import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/** Only platform admins (manage all) assign account managers; assigned managers may read. */
export const ACCOUNT_MANAGER_ASSIGNMENT = definePolicy(
  'AccountManagerAssignment',
  ({ can }, principal) => {
    if (
      principal.homeTenantId === PLATFORM_TENANT_ID &&
      principal.roles.includes('account_manager')
    ) {
      can('read', 'AccountManagerAssignment', { tenantId: { $in: principal.assignedTenantIds } });
    }
  },
);
