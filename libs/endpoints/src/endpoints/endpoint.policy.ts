import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Dedicated endpoints: the tenant's admins and ML engineers deploy and run them (create,
 * update, stop, start, delete); every member of the tenant reads them; assigned account managers
 * and operator compliance officers read every endpoint of their tenants. Platform admins get
 * `manage all`. Where an endpoint may run is decided by the tenant's compliance profile
 * ({@link placementAbility}), not by the role.
 */
export const ENDPOINT = definePolicy('Endpoint', ({ can }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
    if (principal.roles.length > 0) can('read', 'Endpoint', { tenantId: principal.homeTenantId });
    if (principal.roles.some((r) => r === 'tenant_admin' || r === 'ml_engineer')) {
      can(['create', 'update', 'stop', 'start', 'delete'], 'Endpoint', {
        tenantId: principal.homeTenantId,
      });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can('read', 'Endpoint', { tenantId: { $in: principal.assignedTenantIds } });
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'Endpoint');
});
