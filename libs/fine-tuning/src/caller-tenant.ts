import { asTenantId, CurrentAccess, isPlatformPrincipal, TenantId } from '@app/authz';
import { TenantCallerRequired } from './fine-tuning-problems';

/**
 * The tenant an OpenAI-compatible route (`/v1/files`, `/v1/fine_tuning/jobs`) works on: the
 * caller's own, as the OpenAI API takes the organization from the key.
 *
 * @throws TenantCallerRequired (403) for operator staff, who belong to no customer tenant
 */
export function callerTenant(access: CurrentAccess): TenantId {
  const principal = access.principal;
  if (isPlatformPrincipal(principal)) {
    throw new TenantCallerRequired(
      "Operator staff have no files or fine-tuning jobs of their own: call with the tenant's key or a member's session, or read them at /v1/tenants/{tenantId}/...",
    );
  }
  return asTenantId(principal.homeTenantId);
}
