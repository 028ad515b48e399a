import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Users: tenant admins manage their tenant's users (list, read, disable, enable; roles come from
 * the IdP, so nobody edits them here); the tenant's compliance officers and its assigned account
 * managers read them. Platform admins (manage all) every user, staff included.
 */
export const USER = definePolicy('User', ({ can }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
    if (principal.roles.includes('tenant_admin')) {
      can(['create', 'read', 'update', 'disable', 'enable'], 'User', {
        tenantId: principal.homeTenantId,
      });
    }
    if (principal.roles.includes('compliance_officer')) {
      can('read', 'User', { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can('read', 'User', { tenantId: { $in: principal.assignedTenantIds } });
  }
});
