import { USAGE_READER } from '@app/tenancy';
import { Global, Module } from '@nestjs/common';
import { UsageEventsController } from './usage/usage-events.controller';
import { UsageIngestionService } from './usage/usage-ingestion.service';
import { UsageLedgerService } from './usage/usage-ledger.service';

/**
 * Usage metering. So far: idempotent ingestion into the usage ledger (`POST /v1/usage/events`,
 * UsageIngestionService for the other libraries) and reading it for quota status (bound to
 * tenancy's USAGE_READER port). Reservations, rollups, alerts and usage queries come with the
 * rest of the metering issue.
 */
@Global()
@Module({
  controllers: [UsageEventsController],
  providers: [
    UsageLedgerService,
    UsageIngestionService,
    { provide: USAGE_READER, useExisting: UsageLedgerService },
  ],
  exports: [UsageLedgerService, UsageIngestionService, USAGE_READER],
})
export class MeteringModule {}
