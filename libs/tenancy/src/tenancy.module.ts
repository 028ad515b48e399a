import { TENANT_DIRECTORY } from '@app/authz';
import { AUDIT_RETENTION_SOURCE } from '@app/audit';
import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountManagerAssignment } from './account-managers/account-manager-assignment.entity';
import { AccountManagerService } from './account-managers/account-manager.service';
import { AccountManagersController } from './account-managers/account-managers.controller';
import {
  ContractExpiryProcessor,
  ContractExpiryScheduler,
  ContractExpiryService,
  TENANCY_QUEUE,
} from './contracts/contract-expiry';
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
 * Tenancy's services without HTTP, for every process: tenants and their compliance profiles,
 * regions, contracts, quota status (usage through the USAGE_READER port), the TENANT_DIRECTORY port authorization needs and the audit retention
 * source. The worker imports this alone.
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
  providers: [
    TenantService,
    TenantDirectoryService,
    RegionService,
    ContractService,
    QuotaStatusService,
    { provide: TENANT_DIRECTORY, useExisting: TenantDirectoryService },
    { provide: AUDIT_RETENTION_SOURCE, useExisting: TenantService },
  ],
  exports: [
    TenantService,
    RegionService,
    ContractService,
    QuotaStatusService,
    TENANT_DIRECTORY,
    AUDIT_RETENTION_SOURCE,
  ],
})
export class TenancyCoreModule {}

/**
 * The tenancy API: regions, tenants (profiles, lifecycle), account-manager assignments,
 * contracts (versions, amendments, renewals) and quota status. Quota usage comes from the
 * metering library through the USAGE_READER port.
 */
@Module({
  imports: [TenancyCoreModule],
  controllers: [
    TenantsController,
    AccountManagersController,
    RegionsController,
    ContractsController,
    QuotasController,
  ],
  providers: [AccountManagerService],
})
export class TenancyModule {}

/** Tenancy's jobs in the worker: contract expiry. */
@Module({
  imports: [TenancyCoreModule, BullModule.registerQueue({ name: TENANCY_QUEUE })],
  providers: [ContractExpiryService, ContractExpiryProcessor, ContractExpiryScheduler],
  exports: [ContractExpiryService],
})
export class TenancyWorkerModule {}
