import { TenantDb } from '@app/authz';
import { AppConfig, InjectConfig, RepeatableJobs, Traced, runInJobTrace } from '@app/core';
import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { QuotaAlertsService } from './alerts/quota-alerts.service';

/** Queue and job names of the metering library (STYLE.md: in one place). */
export const METERING_QUEUE = 'metering';
export const USAGE_PARTITIONS_JOB = 'usage.partitions';
export const QUOTA_ALERTS_JOB = 'quota.alerts';

export interface MeteringJobs {
  /** Platform-wide maintenance; alerts visit each tenant in that tenant's own scope. */
  [USAGE_PARTITIONS_JOB]: { scheduledBy: string };
  [QUOTA_ALERTS_JOB]: { scheduledBy: string };
}

/** Months of `usage_events` partitions kept ready: this one and the next two. */
export const PARTITION_MONTHS_AHEAD = 3;

/**
 * Creates the ledger's monthly partitions ahead of time (`usage_ensure_partitions`, which also
 * moves rows that already landed in the DEFAULT partition for a month it creates). Idempotent.
 *
 * @returns how many partitions were created
 */
@Injectable()
export class UsagePartitionsService {
  constructor(private readonly db: TenantDb) {}

  async ensure(at = new Date()): Promise<number> {
    const rows: { created: number }[] = await this.db.run(
      { kind: 'platform', reason: 'usage ledger: create monthly partitions ahead' },
      () =>
        this.db.manager.query(
          `SELECT usage_ensure_partitions(date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC')::date, $2) AS created`,
          [at, PARTITION_MONTHS_AHEAD],
        ),
    );
    return rows[0].created;
  }
}

@Processor(METERING_QUEUE)
export class MeteringProcessor extends WorkerHost {
  private readonly logger = new Logger('MeteringProcessor');

  constructor(
    private readonly partitions: UsagePartitionsService,
    private readonly alerts: QuotaAlertsService,
  ) {
    super();
  }

  async process(
    job: Job<Traced<MeteringJobs[keyof MeteringJobs]>>,
  ): Promise<{ created?: number; raised?: number }> {
    return runInJobTrace(job, async () => {
      if (job.name === USAGE_PARTITIONS_JOB) {
        const created = await this.partitions.ensure();
        if (created) this.logger.log({ created }, 'usage partitions created');
        return { created };
      }
      if (job.name === QUOTA_ALERTS_JOB) {
        const raised = await this.alerts.sweep();
        if (raised) this.logger.log({ raised }, 'quota alerts raised');
        return { raised };
      }
      throw new Error(`unknown metering job ${job.name}`);
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ jobId: job?.id, job: job?.name, err: error }, 'metering job failed');
  }
}

/**
 * Registers metering's repeatable jobs (one schedule for all workers): partitions daily and at
 * start, quota alerts every QUOTA_ALERT_INTERVAL_MS.
 */
@Injectable()
export class MeteringScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(METERING_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
    private readonly jobs: RepeatableJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(
      this.queue,
      'usage-partitions',
      24 * 3600 * 1000,
      USAGE_PARTITIONS_JOB,
    );
    await this.jobs.schedule(
      this.queue,
      'quota-alerts',
      this.config.QUOTA_ALERT_INTERVAL_MS,
      QUOTA_ALERTS_JOB,
    );
  }
}
