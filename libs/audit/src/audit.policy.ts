import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Who reads the audit log and pulls reports: a tenant's compliance officers and admins (their own
 * chain); operator compliance officers (every chain). Platform admins get `manage all`. Nobody
 * writes or deletes events through the API: there are no such routes.
 */
export const AUDIT_EVENT = definePolicy('AuditEvent', ({ can }, principal) => {
  const platform = principal.homeTenantId === PLATFORM_TENANT_ID;
  if (platform) {
    if (principal.roles.includes('compliance_officer')) can('read', 'AuditEvent');
    return;
  }
  if (principal.roles.some((r) => r === 'compliance_officer' || r === 'tenant_admin')) {
    can('read', 'AuditEvent', { tenantId: principal.homeTenantId });
  }
});

export const AUDIT_REPORT = definePolicy('AuditReport', ({ can }, principal) => {
  const platform = principal.homeTenantId === PLATFORM_TENANT_ID;
  if (platform) {
    if (principal.roles.includes('compliance_officer')) can(['read', 'create'], 'AuditReport');
    return;
  }
  if (principal.roles.some((r) => r === 'compliance_officer' || r === 'tenant_admin')) {
    can(['read', 'create'], 'AuditReport', { tenantId: principal.homeTenantId });
  }
});
