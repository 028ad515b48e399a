import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/** Tenant admins manage their tenant's users; platform admins (manage all) every user. */
export const USER = definePolicy('User', ({ can }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID && principal.roles.includes('tenant_admin')) {
    can(['create', 'read', 'update'], 'User', { tenantId: principal.homeTenantId });
  }
});
