import { QUOTA_PLAN_LISTENER, USAGE_READER } from '@app/tenancy';
import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { QuotaAlert, QuotaAlertSettings } from './alerts/quota-alert.entity';
import { QuotaAlertsController } from './alerts/quota-alerts.controller';
import { QuotaAlertsService } from './alerts/quota-alerts.service';
import {
  METERING_QUEUE,
  MeteringProcessor,
  MeteringScheduler,
  UsagePartitionsService,
} from './metering-worker';
import { QuotaCountersService } from './quota/quota-counters.service';
import { QuotaPlanInvalidator, QuotaPlanService } from './quota/quota-plan.service';
import { QuotaRedis } from './quota/quota-redis';
import { QuotaReservationService } from './quota/quota-reservation.service';
import { UsageEventsController } from './usage/usage-events.controller';
import { UsageIngestionService } from './usage/usage-ingestion.service';
import { UsageLedgerService } from './usage/usage-ledger.service';
import { UsageQueryService } from './usage/usage-query.service';
import { UsageController } from './usage/usage.controller';

/**
 * Metering's services without HTTP, for every process: the usage ledger and its ingestion,
 * quota reservations (QuotaReservationService) and the counters behind them, quota alerts.
 * Binds tenancy's USAGE_READER (quota status reads the ledger) and QUOTA_PLAN_LISTENER
 * (contract changes reach reservations at once).
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([QuotaAlert, QuotaAlertSettings])],
  providers: [
    QuotaRedis,
    QuotaPlanService,
    QuotaPlanInvalidator,
    QuotaCountersService,
    QuotaReservationService,
    QuotaAlertsService,
    UsageLedgerService,
    UsageIngestionService,
    { provide: USAGE_READER, useExisting: UsageLedgerService },
    { provide: QUOTA_PLAN_LISTENER, useExisting: QuotaPlanInvalidator },
  ],
  exports: [
    QuotaReservationService,
    QuotaAlertsService,
    UsageLedgerService,
    UsageIngestionService,
    USAGE_READER,
    QUOTA_PLAN_LISTENER,
  ],
})
export class MeteringCoreModule {}

/** Metering's HTTP API: usage ingestion, usage queries, quota alerts. */
@Module({
  imports: [MeteringCoreModule],
  controllers: [UsageEventsController, UsageController, QuotaAlertsController],
  providers: [UsageQueryService],
})
export class MeteringModule {}

/** Metering's jobs in the worker: monthly ledger partitions, quota alerts. */
@Module({
  imports: [MeteringCoreModule, BullModule.registerQueue({ name: METERING_QUEUE })],
  providers: [UsagePartitionsService, MeteringProcessor, MeteringScheduler],
  exports: [UsagePartitionsService],
})
export class MeteringWorkerModule {}
