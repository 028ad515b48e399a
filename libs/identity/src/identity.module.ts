import { AUTHENTICATOR, STAFF_DIRECTORY } from '@app/authz';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-keys/api-key.entity';
import { ApiKeyService } from './api-keys/api-key.service';
import { PlatformApiKeysController, TenantApiKeysController } from './api-keys/api-keys.controller';
import { BootstrapService } from './bootstrap/bootstrap.service';
import { IdentityAuthenticator } from './identity-authenticator';
import { MeController } from './sessions/me.controller';
import { Session } from './sessions/session.entity';
import { SessionService } from './sessions/session.service';
import { RoleAssignment, User } from './users/user.entity';
import { UserService } from './users/user.service';
import { PlatformUsersController, TenantUsersController } from './users/users.controller';

/**
 * Identity for every process that authenticates callers (api, gateway): users, API keys,
 * sessions and the AUTHENTICATOR. Global, so authorization finds the authenticator.
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([User, RoleAssignment, ApiKey, Session])],
  providers: [
    ApiKeyService,
    SessionService,
    UserService,
    IdentityAuthenticator,
    { provide: AUTHENTICATOR, useExisting: IdentityAuthenticator },
    { provide: STAFF_DIRECTORY, useExisting: UserService },
  ],
  exports: [ApiKeyService, SessionService, UserService, AUTHENTICATOR, STAFF_DIRECTORY],
})
export class IdentityCoreModule {}

/** The identity API: API keys, platform users, `/v1/me`. */
@Module({
  imports: [IdentityCoreModule],
  controllers: [
    TenantApiKeysController,
    PlatformApiKeysController,
    PlatformUsersController,
    TenantUsersController,
    MeController,
  ],
  // The first platform admin key is the api's to create (once, at its first start).
  providers: [BootstrapService],
  exports: [BootstrapService],
})
export class IdentityModule {}
