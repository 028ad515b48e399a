import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SlaBurnRateAlert, SlaIncident } from './incidents/sla-incident.entity';
import { SlaEvaluationService } from './incidents/sla-evaluation.service';
import { SlaIncidentService } from './incidents/sla-incident.service';
import { MaintenanceWindow } from './maintenance/maintenance-window.entity';
import { MaintenanceWindowService } from './maintenance/maintenance-window.service';
import { MaintenanceWindowsController } from './maintenance/maintenance-windows.controller';
import { SlaController } from './reports/sla.controller';
import { SlaReportService } from './reports/sla-report.service';
import { SlaMinutesRetentionService } from './signals/sla-minutes-retention.service';
import { SlaProbeService } from './signals/sla-probe.service';
import { SlaRollupService } from './signals/sla-rollup.service';
import { SlaClock } from './sla-clock';
import { SlaMetrics } from './sla-metrics';
import { SlaProcessor, SlaScheduler } from './sla-worker';
import { SLA_QUEUE } from './sla.constants';

/**
 * The SLA library's services for every process: the clock, metrics, maintenance windows,
 * incidents and reports, the rollup, the minutes retention and the evaluation (callable from the
 * api for tests and replays; scheduled in the worker).
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([MaintenanceWindow, SlaIncident, SlaBurnRateAlert])],
  providers: [
    SlaClock,
    SlaMetrics,
    MaintenanceWindowService,
    SlaIncidentService,
    SlaReportService,
    SlaRollupService,
    SlaMinutesRetentionService,
    SlaEvaluationService,
  ],
  exports: [
    SlaClock,
    SlaMetrics,
    MaintenanceWindowService,
    SlaIncidentService,
    SlaReportService,
    SlaRollupService,
    SlaMinutesRetentionService,
    SlaEvaluationService,
  ],
})
export class SlaCoreModule {}

/** The SLA API: reports, manifests, incidents, burn-rate alerts, maintenance windows. */
@Module({
  imports: [SlaCoreModule],
  controllers: [SlaController, MaintenanceWindowsController],
})
export class SlaModule {}

/** SLA jobs in the worker: probes, rollup and evaluation, the monthly freeze, the retention. */
@Module({
  imports: [SlaCoreModule, BullModule.registerQueue({ name: SLA_QUEUE })],
  providers: [SlaProbeService, SlaProcessor, SlaScheduler],
  exports: [SlaProbeService],
})
export class SlaWorkerModule {}
