import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { hostname } from 'node:os';
import { withTraceContext } from '../telemetry/job-trace';
import {
  IDEMPOTENCY_PURGE_EVERY_MS,
  IDEMPOTENCY_PURGE_JOB,
  IDEMPOTENCY_QUEUE,
} from './idempotency.constants';

/** Registers the repeatable purge (one scheduler id for all workers; BullMQ dedupes by it). */
@Injectable()
export class IdempotencyPurgeScheduler implements OnApplicationBootstrap {
  static readonly SCHEDULER_ID = 'idempotency-purge';

  constructor(@InjectQueue(IDEMPOTENCY_QUEUE) private readonly queue: Queue) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(
      IdempotencyPurgeScheduler.SCHEDULER_ID,
      { every: IDEMPOTENCY_PURGE_EVERY_MS },
      {
        name: IDEMPOTENCY_PURGE_JOB,
        data: withTraceContext({ scheduledBy: hostname() }),
        opts: { removeOnComplete: 100, removeOnFail: 100 },
      },
    );
  }
}
