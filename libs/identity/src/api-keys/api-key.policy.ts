import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * API keys: tenant admins manage their tenant's keys; platform admins (manage all) any key.
 * Nobody, platform admins included, reads a key's hash.
 */
export const API_KEY = definePolicy('ApiKey', ({ can, cannot }, principal) => {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID && principal.roles.includes('tenant_admin')) {
    can(['create', 'read', 'update', 'revoke', 'rotate'], 'ApiKey', {
      tenantId: principal.homeTenantId,
    });
  }
  cannot('read', 'ApiKey', ['secretHash']);
});
