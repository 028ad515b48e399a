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
import { PlatformUsersController } from './users/users.controller';

/** Users, roles, API keys, sessions, and the authenticator the authorization guard uses. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([User, RoleAssignment, ApiKey, Session])],
  controllers: [
    TenantApiKeysController,
    PlatformApiKeysController,
    PlatformUsersController,
    MeController,
  ],
  providers: [
    ApiKeyService,
    SessionService,
    UserService,
    BootstrapService,
    IdentityAuthenticator,
    { provide: AUTHENTICATOR, useExisting: IdentityAuthenticator },
    { provide: STAFF_DIRECTORY, useExisting: UserService },
  ],
  exports: [
    ApiKeyService,
    SessionService,
    UserService,
    BootstrapService,
    AUTHENTICATOR,
    STAFF_DIRECTORY,
  ],
})
export class IdentityModule {}
