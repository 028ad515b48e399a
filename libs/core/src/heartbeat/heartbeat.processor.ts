import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Job } from 'bullmq';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { runInJobTrace, Traced } from '../telemetry/job-trace';
import { HEARTBEAT_JOB, HEARTBEAT_QUEUE, HeartbeatJobs } from './heartbeat.constants';

/**
 * Proves the worker pipeline end to end (Redis → BullMQ → this process → PostgreSQL): each beat
 * upserts this worker's row in `worker_heartbeats`. Idempotent per job id: a retried job that
 * already counted (same `last_job_id`) does not count twice.
 */
@Processor(HEARTBEAT_QUEUE)
export class HeartbeatProcessor extends WorkerHost {
  private readonly logger = new Logger(HeartbeatProcessor.name);
  private readonly workerId = `${hostname()}:${process.pid}`;
  private readonly startedAt = new Date();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  async process(
    job: Job<Traced<HeartbeatJobs[typeof HEARTBEAT_JOB]>>,
  ): Promise<{ workerId: string }> {
    return runInJobTrace(job, async () => {
      await this.dataSource.query(
        `INSERT INTO worker_heartbeats (worker_id, hostname, pid, started_at, last_beat_at, beats, last_job_id)
         VALUES ($1, $2, $3, $4, now(), 1, $5)
         ON CONFLICT (worker_id) DO UPDATE SET
           last_beat_at = now(),
           beats = worker_heartbeats.beats + CASE WHEN worker_heartbeats.last_job_id IS DISTINCT FROM $5 THEN 1 ELSE 0 END,
           last_job_id = $5`,
        [this.workerId, hostname(), process.pid, this.startedAt, job.id ?? null],
      );
      return { workerId: this.workerId };
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ jobId: job?.id, err: error }, 'heartbeat failed');
  }
}
