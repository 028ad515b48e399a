import { definePolicy, PLATFORM_TENANT_ID } from '@app/authz';

/**
 * Usage ingestion (`POST /v1/usage/events`) is for external data planes: platform API keys
 * holding the `usage:write` scope, and nobody else (not even platform admins' `manage all`: a
 * person never reports usage by hand).
 */
export const USAGE_EVENT = definePolicy('UsageEvent', ({ can, cannot }, principal) => {
  if (principal.homeTenantId === PLATFORM_TENANT_ID && principal.scopes.includes('usage:write')) {
    can('create', 'UsageEvent');
  } else {
    cannot('create', 'UsageEvent');
  }
});
