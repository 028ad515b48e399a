import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Fine-tuning files: the tenant's admins and ML engineers upload and delete them; every member of
 * the tenant (compliance officers, viewers) reads them; assigned account managers and operator
 * compliance officers read them through `/v1/tenants/{tenantId}/files`. Platform admins get
 * `manage all`.
 */
export const TRAINING_FILE = definePolicy('TrainingFile', ({ can }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
    if (principal.roles.length > 0)
      can('read', 'TrainingFile', { tenantId: principal.homeTenantId });
    if (principal.roles.some((r) => r === 'tenant_admin' || r === 'ml_engineer')) {
      can(['create', 'delete'], 'TrainingFile', { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can('read', 'TrainingFile', { tenantId: { $in: principal.assignedTenantIds } });
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'TrainingFile');
});
