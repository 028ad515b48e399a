import { TenantDb } from '@app/authz';
import { AppConfig, InjectConfig, withTraceContext } from '@app/core';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import {
  FINE_TUNING_QUEUE,
  FineTuningJobs,
  TRAIN_JOB,
  trainJobId,
  TRAINING_QUEUE,
  VALIDATE_JOB,
  validateJobId,
} from './fine-tuning.constants';

/** BullMQ's largest priority (2^21 − 1). */
const MAX_PRIORITY = 2_097_151;

/**
 * Puts fine-tuning work on the `fine-tuning` queue. Best effort: the worker's sweep
 * (FINE_TUNING_SWEEP_INTERVAL_MS) re-queues what a Redis failure here loses, so a failure is
 * logged, not thrown into a committed request.
 */
@Injectable()
export class FineTuningQueue {
  private readonly logger = new Logger('FineTuningQueue');

  constructor(
    private readonly db: TenantDb,
    @InjectQueue(FINE_TUNING_QUEUE) readonly queue: Queue,
    @InjectQueue(TRAINING_QUEUE) readonly training: Queue,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Queues the job's file check once the current transaction commits. */
  validateAfterCommit(tenantId: string, jobId: string, backlog: number): void {
    this.db.afterCommit(() => this.validate(tenantId, jobId, backlog));
  }

  /**
   * @param backlog the tenant's jobs validating now, this one included: the queue's priority
   *   (BullMQ: lower first), so a tenant's first job is checked before another tenant's
   *   hundredth and a backlog never delays another tenant's first job.
   */
  async validate(tenantId: string, jobId: string, backlog: number): Promise<void> {
    const data: FineTuningJobs[typeof VALIDATE_JOB] = { tenantId, jobId };
    await this.add(this.queue, VALIDATE_JOB, data, validateJobId(jobId), {
      attempts: 5,
      priority: Math.min(Math.max(1, backlog), MAX_PRIORITY),
    });
  }

  /** Queues an admitted job's training (one entry per job: a repeat is a no-op). */
  async train(tenantId: string, jobId: string): Promise<void> {
    const data: FineTuningJobs[typeof TRAIN_JOB] = { tenantId, jobId };
    await this.add(this.training, TRAIN_JOB, data, trainJobId(jobId), {
      attempts: this.config.FINE_TUNING_MAX_ATTEMPTS,
    });
  }

  private async add(
    queue: Queue,
    name: string,
    data: object,
    jobId: string,
    { attempts, priority }: { attempts: number; priority?: number },
  ): Promise<void> {
    try {
      await queue.add(name, withTraceContext(data), {
        jobId,
        attempts,
        ...(priority ? { priority } : {}),
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: true,
        removeOnFail: true,
      });
    } catch (error) {
      this.logger.warn({ err: error, jobId }, 'could not queue fine-tuning work; the sweep will');
    }
  }
}
