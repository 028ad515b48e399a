import { ApiParam } from '@nestjs/swagger';

/** OpenAPI for the `{tenantId}` path parameter of tenant routes. */
export const ApiTenantIdParam = () =>
  ApiParam({
    name: 'tenantId',
    format: 'uuid',
    description: 'A customer tenant. Unknown, malformed or unreachable ids answer 404.',
  });

/** OpenAPI for a UUID path parameter naming a resource (malformed ids answer 404 too). */
export const ApiIdParam = (name: string, description: string) =>
  ApiParam({ name, format: 'uuid', description });

/** What every route under `/v1/tenants/{tenantId}` may answer 404 for. */
export const NOT_FOUND_TENANT = 'No such tenant, or one the caller may not see.';

/** What every write under `/v1/tenants/{tenantId}` may answer 409 for. */
export const OFFBOARDED = '`tenant_offboarded`: the tenant is read-only';
