import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Contracts: tenant admins and compliance officers read their own tenant's; assigned account
 * managers read and write (discarding drafts included); operator compliance officers read every tenant's. Platform admins get
 * `manage all`.
 */
export const CONTRACT = definePolicy('Contract', ({ can }, principal) => {
  const platform = principal.homeTenantId === PLATFORM_TENANT_ID;
  if (!platform) {
    if (principal.roles.some((r) => r === 'tenant_admin' || r === 'compliance_officer')) {
      can('read', 'Contract', { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can(
      ['read', 'create', 'update', 'delete', 'activate', 'terminate', 'renew', 'amend'],
      'Contract',
      {
        tenantId: { $in: principal.assignedTenantIds },
      },
    );
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'Contract');
});

/**
 * Quota status: every member of the tenant (ML engineers need to see what is left), the
 * assigned account managers and operator compliance officers.
 */
export const QUOTA_STATUS = definePolicy('QuotaStatus', ({ can }, principal) => {
  const platform = principal.homeTenantId === PLATFORM_TENANT_ID;
  if (!platform) {
    if (principal.roles.length > 0)
      can('read', 'QuotaStatus', { tenantId: principal.homeTenantId });
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can('read', 'QuotaStatus', { tenantId: { $in: principal.assignedTenantIds } });
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'QuotaStatus');
});
