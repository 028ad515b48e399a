import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Fine-tuning jobs: the tenant's admins and ML engineers create and cancel them; every member of
 * the tenant reads them (with their events and checkpoints); assigned account managers and
 * operator compliance officers read them through `/v1/tenants/{tenantId}/fine_tuning/jobs`.
 * Platform admins get `manage all`. Which base models a tenant may train is decided by its
 * compliance profile ({@link trainingRefusal}), not by the role.
 */
export const FINE_TUNING_JOB = definePolicy('FineTuningJob', ({ can }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
    if (principal.roles.length > 0)
      can('read', 'FineTuningJob', { tenantId: principal.homeTenantId });
    if (principal.roles.some((r) => r === 'tenant_admin' || r === 'ml_engineer')) {
      can(['create', 'cancel'], 'FineTuningJob', { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can('read', 'FineTuningJob', { tenantId: { $in: principal.assignedTenantIds } });
  }
  if (principal.roles.includes('compliance_officer')) can('read', 'FineTuningJob');
});
