import { asTenantId, TenantDb } from '@app/authz';
import { TenantService } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { SamlConnection } from '../connections/saml-connection.entity';
import { SsoDomain } from '../domains/sso-domain.entity';
import { SsoNotConfigured } from '../sso-problems';
import { SamlLoginService } from './saml-login.service';

/** Home-realm discovery: an email's domain → the login URL of the tenant that verified it. */
@Injectable()
export class SsoDiscoveryService {
  constructor(
    private readonly db: TenantDb,
    private readonly login: SamlLoginService,
    private readonly tenants: TenantService,
  ) {}

  /** @throws SsoNotConfigured (404) unless a tenant verified the domain and has SSO enabled */
  async loginUrlFor(email: string): Promise<string> {
    const domain = email
      .slice(email.lastIndexOf('@') + 1)
      .trim()
      .toLowerCase();
    const found = await this.db.asPlatform('SSO home-realm discovery', async (manager) => {
      const owner = await manager
        .getRepository(SsoDomain)
        .findOneBy({ domain, status: 'verified' });
      if (!owner) return undefined;
      const enabled = await manager
        .getRepository(SamlConnection)
        .countBy({ tenantId: owner.tenantId, status: 'enabled' });
      if (!enabled) return undefined;
      return owner.tenantId;
    });
    const tenant = found
      ? await this.db.run({ kind: 'tenant', tenantId: asTenantId(found) }, () =>
          this.tenants.signInTarget(asTenantId(found)),
        )
      : undefined;
    if (!tenant || (tenant.status !== 'active' && tenant.status !== 'onboarding')) {
      throw new SsoNotConfigured(`No single sign-on is set up for ${domain}.`);
    }
    return this.login.loginUrl(tenant.slug);
  }
}
