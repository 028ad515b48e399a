import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Who may see and change tenants. Conditions are on the tenant's `id`. Platform admins get
 * `manage all` from the ability factory.
 */
export const TENANT = definePolicy('Tenant', ({ can }, principal) => {
  const platform = principal.homeTenantId === PLATFORM_TENANT_ID;
  for (const role of principal.roles) {
    if (platform && role === 'account_manager') {
      can(['read', 'update'], 'Tenant', { id: { $in: principal.assignedTenantIds } });
    } else if (platform && role === 'compliance_officer') {
      can('read', 'Tenant');
    } else if (!platform) {
      // Every tenant role may read its own tenant; tenant admins may also update it.
      can('read', 'Tenant', { id: principal.homeTenantId });
      if (role === 'tenant_admin') can('update', 'Tenant', { id: principal.homeTenantId });
    }
  }
});
