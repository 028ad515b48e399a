import { defineProblem } from '@app/core';

export const RoleNotAllowedHere = defineProblem({
  code: 'role_not_allowed_here',
  status: 422,
  title: 'Role or scope not allowed here',
  description:
    'Tenant keys and users take tenant roles (tenant_admin, ml_engineer, compliance_officer, viewer) and the `inference` scope; platform keys and staff take platform roles (platform_admin, account_manager, compliance_officer) and the `usage:write` scope.',
});

export const ApiKeyRevoked = defineProblem({
  code: 'api_key_revoked',
  status: 409,
  title: 'API key revoked or expired',
  description:
    'A revoked or expired key cannot be rotated, and a revoked key cannot be revoked again; create a new key.',
});

export const EmailTaken = defineProblem({
  code: 'email_taken',
  status: 409,
  title: 'Email already in use',
  description: 'A user with this email already exists in this organization.',
});

export const CannotDisableSelf = defineProblem({
  code: 'cannot_disable_self',
  status: 409,
  title: 'You cannot disable yourself',
  description:
    'A person cannot disable their own user (it would end the session that asks); another tenant admin must do it. Nothing was changed.',
});
