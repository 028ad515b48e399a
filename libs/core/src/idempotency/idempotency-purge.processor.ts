import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Job } from 'bullmq';
import { DataSource } from 'typeorm';
import { runInJobTrace, Traced } from '../telemetry/job-trace';
import { IDEMPOTENCY_PURGE_JOB, IDEMPOTENCY_QUEUE, IdempotencyJobs } from './idempotency.constants';
import { purgeExpiredIdempotencyKeys } from './idempotency-purge';

/**
 * Deletes expired idempotency keys (kept `IDEMPOTENCY_KEY_TTL_HOURS`; requests already ignore
 * expired rows, this only reclaims space). Platform-wide, so its payload has no tenant. Safe to
 * retry: a second run finds nothing more to delete.
 */
@Processor(IDEMPOTENCY_QUEUE)
export class IdempotencyPurgeProcessor extends WorkerHost {
  private readonly logger = new Logger(IdempotencyPurgeProcessor.name);

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  async process(
    job: Job<Traced<IdempotencyJobs[typeof IDEMPOTENCY_PURGE_JOB]>>,
  ): Promise<{ deleted: number }> {
    return runInJobTrace(job, async () => {
      const deleted = await purgeExpiredIdempotencyKeys(this.dataSource);
      if (deleted) this.logger.log({ jobId: job.id, deleted }, 'expired idempotency keys purged');
      return { deleted };
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ jobId: job?.id, err: error }, 'idempotency key purge failed');
  }
}
