import { definePolicy, PLATFORM_TENANT_ID, PolicyBuilder, Principal } from '@app/authz';

/**
 * SSO configuration (SAML connections and verified domains) decides who becomes a member of a
 * tenant with which role, so only the tenant's admins change it (platform admins: `manage all`).
 * Tenant admins and compliance officers, assigned account managers (who onboard customers) and
 * operator compliance officers read it.
 */
function ssoRules(subject: 'SamlConnection' | 'SsoDomain') {
  return ({ can }: PolicyBuilder, principal: Principal) => {
    if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
      if (principal.roles.includes('tenant_admin')) {
        can(
          ['create', 'read', 'update', 'delete', 'enable', 'disable', 'verify', 'test'],
          subject,
          {
            tenantId: principal.homeTenantId,
          },
        );
      }
      if (principal.roles.includes('compliance_officer')) {
        can('read', subject, { tenantId: principal.homeTenantId });
      }
      return;
    }
    if (principal.roles.includes('account_manager')) {
      can('read', subject, { tenantId: { $in: principal.assignedTenantIds } });
    }
    if (principal.roles.includes('compliance_officer')) can('read', subject);
  };
}

export const SAML_CONNECTION = definePolicy('SamlConnection', ssoRules('SamlConnection'));
export const SSO_DOMAIN = definePolicy('SsoDomain', ssoRules('SsoDomain'));
