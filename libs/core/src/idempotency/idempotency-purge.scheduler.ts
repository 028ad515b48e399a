import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { RepeatableJobs } from '../queue/repeatable-jobs';
import {
  IDEMPOTENCY_PURGE_EVERY_MS,
  IDEMPOTENCY_PURGE_JOB,
  IDEMPOTENCY_QUEUE,
} from './idempotency.constants';

/** Registers the repeatable purge (one scheduler id for all workers; BullMQ dedupes by it). */
@Injectable()
export class IdempotencyPurgeScheduler implements OnApplicationBootstrap {
  static readonly SCHEDULER_ID = 'idempotency-purge';

  constructor(
    @InjectQueue(IDEMPOTENCY_QUEUE) private readonly queue: Queue,
    private readonly jobs: RepeatableJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(
      this.queue,
      IdempotencyPurgeScheduler.SCHEDULER_ID,
      IDEMPOTENCY_PURGE_EVERY_MS,
      IDEMPOTENCY_PURGE_JOB,
    );
  }
}
