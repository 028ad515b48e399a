import { defineProblem } from '@app/core';

export const TenantSlugTaken = defineProblem({
  code: 'tenant_slug_taken',
  status: 409,
  title: 'Tenant slug already in use',
  description: 'Another tenant already has this slug; slugs are unique across the platform.',
});

export const NotAnAccountManager = defineProblem({
  code: 'not_an_account_manager',
  status: 422,
  title: 'User is not an account manager',
  description:
    'Only active operator staff holding the `account_manager` role can be assigned to tenants.',
});
