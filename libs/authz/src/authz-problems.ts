import { defineProblem } from '@app/core';

export const MissingPermission = defineProblem({
  code: 'missing_permission',
  status: 403,
  title: 'Missing permission',
  description:
    'The caller is authenticated but its roles do not grant the permission this action needs; `missingPermission` names it.',
});

export const InvalidCredentials = defineProblem({
  code: 'invalid_credentials',
  status: 401,
  title: 'Invalid credentials',
  description: 'The API key or session token is unknown, revoked or expired. Nothing was changed.',
});

export const CredentialsRequired = defineProblem({
  code: 'credentials_required',
  status: 401,
  title: 'Authentication required',
  description: 'Send `Authorization: Bearer <api key or session token>` or the session cookie.',
});

export const TenantSuspended = defineProblem({
  code: 'tenant_suspended',
  status: 403,
  title: 'Tenant suspended',
  description:
    "The caller's tenant is suspended: its API keys and sessions are refused until the operator reactivates it. Nothing was changed.",
});

export const CrossSiteRequestRefused = defineProblem({
  code: 'cross_site_request_refused',
  status: 403,
  title: 'Cross-site request refused',
  description:
    "A write authenticated by the session cookie must come from the console's own origin: the browser's `Sec-Fetch-Site` must be `same-origin`, or (where a browser sends no Fetch Metadata) its `Origin` must be `PUBLIC_URL`. Clients with `Authorization: Bearer` are not affected. Nothing was changed.",
});

export const TenantCallerRequired = defineProblem({
  code: 'tenant_caller_required',
  status: 403,
  title: 'Call as a member of the tenant',
  description:
    "The route works on the caller's own customer tenant (as the OpenAI API takes the organization from the key): call it with the tenant's API key or a member's session. Operator staff, who belong to no customer tenant, use the `/v1/tenants/{tenantId}/...` routes.",
});
