import { TENANT_DIRECTORY } from '@app/authz';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountManagerAssignment } from './account-managers/account-manager-assignment.entity';
import { AccountManagerService } from './account-managers/account-manager.service';
import { AccountManagersController } from './account-managers/account-managers.controller';
import { Contract, ContractQuotaLine, ContractVersion } from './contracts/contract.entity';
import { ContractService } from './contracts/contract.service';
import { ContractsController } from './contracts/contracts.controller';
import { QuotaStatusService } from './quotas/quota-status.service';
import { QuotasController } from './quotas/quotas.controller';
import { Region } from './regions/region.entity';
import { RegionService } from './regions/region.service';
import { RegionsController } from './regions/regions.controller';
import { TenantDirectoryService } from './tenant-directory.service';
import { ComplianceProfileVersion, Tenant } from './tenants/tenant.entity';
import { TenantService } from './tenants/tenant.service';
import { TenantsController } from './tenants/tenants.controller';

/**
 * Tenants and their compliance profiles and lifecycle, the region catalog, account-manager
 * assignments, contracts (versions, amendments, renewals) and quota status. Quota usage comes
 * from the metering library through the USAGE_READER port.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forFeature([
      Tenant,
      ComplianceProfileVersion,
      AccountManagerAssignment,
      Region,
      Contract,
      ContractVersion,
      ContractQuotaLine,
    ]),
  ],
  controllers: [
    TenantsController,
    AccountManagersController,
    RegionsController,
    ContractsController,
    QuotasController,
  ],
  providers: [
    TenantService,
    AccountManagerService,
    TenantDirectoryService,
    RegionService,
    ContractService,
    QuotaStatusService,
    { provide: TENANT_DIRECTORY, useExisting: TenantDirectoryService },
  ],
  exports: [TenantService, RegionService, ContractService, QuotaStatusService, TENANT_DIRECTORY],
})
export class TenancyModule {}
