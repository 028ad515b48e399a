import { USAGE_READER } from '@app/tenancy';
import { Global, Module } from '@nestjs/common';
import { UsageLedgerService } from './usage/usage-ledger.service';

/**
 * Usage metering. So far: reading the usage ledger for quota status (bound to tenancy's
 * USAGE_READER port). Ingestion, reservations and rollups come with the metering issue.
 */
@Global()
@Module({
  providers: [UsageLedgerService, { provide: USAGE_READER, useExisting: UsageLedgerService }],
  exports: [UsageLedgerService, USAGE_READER],
})
export class MeteringModule {}
