import { runInJobTrace, Traced } from '@app/core';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { AUDIT_QUEUE, AUDIT_REPORT_JOB, AUDIT_RETENTION_JOB, AuditJobs } from './audit.constants';
import { AuditReportProducer } from './reports/audit-report.producer';
import { AuditRetentionService } from './retention/audit-retention.service';

type AuditJob =
  | Job<Traced<AuditJobs[typeof AUDIT_REPORT_JOB]>, unknown, typeof AUDIT_REPORT_JOB>
  | Job<Traced<AuditJobs[typeof AUDIT_RETENTION_JOB]>, unknown, typeof AUDIT_RETENTION_JOB>;

/** The audit library's jobs in the worker: report exports and retention. */
@Processor(AUDIT_QUEUE)
export class AuditProcessor extends WorkerHost {
  private readonly logger = new Logger('AuditProcessor');

  constructor(
    private readonly reports: AuditReportProducer,
    private readonly retention: AuditRetentionService,
  ) {
    super();
  }

  async process(job: AuditJob): Promise<unknown> {
    return runInJobTrace(job, async () => {
      if (job.name === AUDIT_REPORT_JOB) {
        const data = job.data as AuditJobs[typeof AUDIT_REPORT_JOB];
        const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        const manifest = await this.reports.produce(data, finalAttempt);
        return manifest
          ? { rowCount: manifest.rowCount, sha256: manifest.sha256 }
          : { skipped: true };
      }
      return { dropped: await this.retention.run() };
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ jobId: job?.id, job: job?.name, err: error }, 'audit job failed');
  }
}
