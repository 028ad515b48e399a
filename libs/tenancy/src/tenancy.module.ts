import { TENANT_DIRECTORY } from '@app/authz';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountManagerAssignment } from './account-managers/account-manager-assignment.entity';
import { AccountManagerService } from './account-managers/account-manager.service';
import { AccountManagersController } from './account-managers/account-managers.controller';
import { TenantDirectoryService } from './tenant-directory.service';
import { Tenant } from './tenants/tenant.entity';
import { TenantService } from './tenants/tenant.service';
import { TenantsController } from './tenants/tenants.controller';

/** Tenants and account-manager assignments (compliance profiles and contracts come next). */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([Tenant, AccountManagerAssignment])],
  controllers: [TenantsController, AccountManagersController],
  providers: [
    TenantService,
    AccountManagerService,
    TenantDirectoryService,
    { provide: TENANT_DIRECTORY, useExisting: TenantDirectoryService },
  ],
  exports: [TenantService, TENANT_DIRECTORY],
})
export class TenancyModule {}
