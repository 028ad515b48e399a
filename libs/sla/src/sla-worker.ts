import { AppConfig, InjectConfig, RepeatableJobs, runInJobTrace, Traced } from '@app/core';
import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { SlaEvaluationService } from './incidents/sla-evaluation.service';
import { SlaReportService } from './reports/sla-report.service';
import { SlaMinutesRetentionService } from './signals/sla-minutes-retention.service';
import { SlaProbeService } from './signals/sla-probe.service';
import { SlaRollupService } from './signals/sla-rollup.service';
import {
  SLA_EVALUATE_JOB,
  SLA_MINUTES_RETENTION_INTERVAL_MS,
  SLA_MINUTES_RETENTION_JOB,
  SLA_PROBE_JOB,
  SLA_QUEUE,
  SLA_REPORTS_INTERVAL_MS,
  SLA_REPORTS_JOB,
  SlaJobs,
} from './sla.constants';

/**
 * The SLA jobs in the worker: probes, the per-minute rollup with incident and burn-rate
 * evaluation, the monthly freeze and the minutes retention. Each is idempotent (probe results are
 * keyed by job id; the rollup replaces minutes; evaluation holds each tenant's state row; a frozen
 * month stays; the retention deletes what is past it, skipping rows another run holds).
 */
// Two at a time: a probe run waiting on timeouts must not hold up the evaluation.
@Processor(SLA_QUEUE, { concurrency: 2 })
export class SlaProcessor extends WorkerHost {
  private readonly logger = new Logger('SlaProcessor');

  constructor(
    private readonly probes: SlaProbeService,
    private readonly rollups: SlaRollupService,
    private readonly evaluation: SlaEvaluationService,
    private readonly reports: SlaReportService,
    private readonly retention: SlaMinutesRetentionService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    super();
  }

  async process(job: Job<Traced<SlaJobs[keyof SlaJobs]>>): Promise<Record<string, number>> {
    return runInJobTrace(job, async (): Promise<Record<string, number>> => {
      if (job.name === SLA_PROBE_JOB) {
        const results = await this.probes.probeAll(job.id ?? `${job.name}:${job.timestamp}`);
        return { probed: results.length, failed: results.filter((r) => !r.ok).length };
      }
      if (job.name === SLA_EVALUATE_JOB) {
        await this.rollups.rollup();
        return { tenants: await this.evaluation.evaluateAll() };
      }
      if (job.name === SLA_REPORTS_JOB) {
        // Once the month's last minutes have settled and been rolled up and evaluated.
        const delay = this.config.SLA_SETTLE_DELAY_MS + 2 * this.config.SLA_EVALUATION_INTERVAL_MS;
        const frozen = await this.reports.freezeDue(delay);
        if (frozen) this.logger.log({ frozen }, 'SLA months frozen');
        return { frozen };
      }
      if (job.name === SLA_MINUTES_RETENTION_JOB) {
        const { deleted, tenants, complete } = await this.retention.prune();
        if (deleted) this.logger.log({ deleted, tenants, complete }, 'SLA minutes pruned');
        return { deleted, tenants, complete: Number(complete) };
      }
      throw new Error(`unknown SLA job ${job.name}`);
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ jobId: job?.id, job: job?.name, err: error }, 'SLA job failed');
  }
}

/** Registers the SLA's repeatable jobs (one schedule for all workers). */
@Injectable()
export class SlaScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(SLA_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
    private readonly jobs: RepeatableJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(
      this.queue,
      'sla-probe',
      this.config.SLA_PROBE_INTERVAL_MS,
      SLA_PROBE_JOB,
    );
    await this.jobs.schedule(
      this.queue,
      'sla-evaluate',
      this.config.SLA_EVALUATION_INTERVAL_MS,
      SLA_EVALUATE_JOB,
    );
    await this.jobs.schedule(this.queue, 'sla-reports', SLA_REPORTS_INTERVAL_MS, SLA_REPORTS_JOB);
    await this.jobs.schedule(
      this.queue,
      'sla-minutes-retention',
      SLA_MINUTES_RETENTION_INTERVAL_MS,
      SLA_MINUTES_RETENTION_JOB,
    );
  }
}
