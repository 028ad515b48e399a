import { AppConfig, InjectConfig } from '@app/core';
import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { urlencoded } from 'express';
import { SamlConnection, SsoIdentity } from './connections/saml-connection.entity';
import { SamlConnectionService } from './connections/saml-connection.service';
import { SamlConnectionsController } from './connections/saml-connections.controller';
import { SsoDomain } from './domains/sso-domain.entity';
import { SsoDomainService } from './domains/sso-domain.service';
import { SsoDomainsController } from './domains/sso-domains.controller';
import { SamlLoginService } from './saml/saml-login.service';
import { SamlRedis } from './saml/saml-redis';
import { SamlController } from './saml/saml.controller';
import { SsoDiscoveryService } from './saml/sso-discovery.service';
import { SpCredentialsService } from './sp/sp-credentials.service';

/**
 * SAML single sign-on: tenants' SAML connections and verified domains
 * (`/v1/tenants/{tenantId}/sso/saml-connections`, `/domains`), each tenant's service provider
 * (`/sso/saml/{tenantSlug}/metadata | login | acs`) and home-realm discovery (`/sso/discover`).
 */
@Module({
  imports: [TypeOrmModule.forFeature([SamlConnection, SsoIdentity, SsoDomain])],
  controllers: [SamlConnectionsController, SsoDomainsController, SamlController],
  providers: [
    SamlConnectionService,
    SsoDomainService,
    SamlLoginService,
    SsoDiscoveryService,
    SamlRedis,
    SpCredentialsService,
  ],
  exports: [SamlLoginService, SpCredentialsService],
})
export class SsoModule implements NestModule {
  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /** The ACS takes the IdP's HTML form (HTTP-POST binding); no other route reads forms. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(urlencoded({ extended: false, limit: this.config.BODY_LIMIT, parameterLimit: 10 }))
      .forRoutes({ path: 'sso/saml/:tenantSlug/acs', method: RequestMethod.POST });
  }
}
