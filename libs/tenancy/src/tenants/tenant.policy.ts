import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Who may see and change tenants. Conditions are on the tenant's `id`. Platform admins get
 * `manage all` from the ability factory; only they offboard (it is final). Account managers
 * create tenants (issue 4: `POST /v1/tenants` is for platform admins and account managers); a
 * person who does is assigned to the new tenant (TenantService.create).
 */
export const TENANT = definePolicy('Tenant', ({ can }, principal) => {
  const platform = principal.homeTenantId === PLATFORM_TENANT_ID;
  for (const role of principal.roles) {
    if (platform && role === 'account_manager') {
      can('create', 'Tenant');
      can(['read', 'update', 'activate', 'suspend'], 'Tenant', {
        id: { $in: principal.assignedTenantIds },
      });
    } else if (platform && role === 'compliance_officer') {
      can('read', 'Tenant');
    } else if (!platform) {
      // Every tenant role may read its own tenant; tenant admins may also update it.
      can('read', 'Tenant', { id: principal.homeTenantId });
      if (role === 'tenant_admin') can('update', 'Tenant', { id: principal.homeTenantId });
    }
  }
});

/**
 * A tenant's compliance profile binds its own people, so every member reads it; the operator
 * sets it (assigned account managers, platform admins), never the tenant itself.
 */
export const COMPLIANCE_PROFILE = definePolicy('ComplianceProfile', ({ can }, principal) => {
  const platform = principal.homeTenantId === PLATFORM_TENANT_ID;
  if (!platform) {
    if (principal.roles.length > 0) {
      can('read', 'ComplianceProfile', { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can(['read', 'update'], 'ComplianceProfile', {
      tenantId: { $in: principal.assignedTenantIds },
    });
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'ComplianceProfile');
});
