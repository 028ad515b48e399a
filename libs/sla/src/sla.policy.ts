import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * SLA reports, incidents and burn-rate alerts (`SlaReport`): read by the tenant's admins and
 * compliance officers, the account managers assigned to the tenant and operator compliance
 * officers; nobody writes them through the API (the worker does). Platform admins get
 * `manage all`.
 */
export const SLA_REPORT = definePolicy('SlaReport', ({ can }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
    if (principal.roles.some((r) => r === 'tenant_admin' || r === 'compliance_officer')) {
      can('read', 'SlaReport', { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can('read', 'SlaReport', { tenantId: { $in: principal.assignedTenantIds } });
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'SlaReport');
});

/**
 * Maintenance windows are the operator's: declared (and withdrawn before they start) by platform
 * admins and the tenant's assigned account managers; read by whoever reads the SLA.
 */
export const MAINTENANCE_WINDOW = definePolicy('MaintenanceWindow', ({ can }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
    if (principal.roles.some((r) => r === 'tenant_admin' || r === 'compliance_officer')) {
      can('read', 'MaintenanceWindow', { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can(['read', 'create', 'delete'], 'MaintenanceWindow', {
      tenantId: { $in: principal.assignedTenantIds },
    });
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'MaintenanceWindow');
});
