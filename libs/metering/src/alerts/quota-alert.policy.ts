import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Quota alerts: whoever reads quota status reads the alerts sent (`QuotaStatus` policy); the
 * thresholds are set by the tenant's admins and its assigned account managers. Platform admins
 * get `manage all`.
 */
export const QUOTA_ALERT_SETTINGS = definePolicy('QuotaAlertSettings', ({ can }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
    if (principal.roles.includes('tenant_admin')) {
      can(['read', 'update'], 'QuotaAlertSettings', { tenantId: principal.homeTenantId });
    } else if (principal.roles.length > 0) {
      can('read', 'QuotaAlertSettings', { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can(['read', 'update'], 'QuotaAlertSettings', {
      tenantId: { $in: principal.assignedTenantIds },
    });
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'QuotaAlertSettings');
});
