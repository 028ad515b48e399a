import { TenantDb } from '@app/authz';
import { withTraceContext } from '@app/core';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import {
  WEBHOOK_DISPATCH_JOB,
  WEBHOOK_DISPATCH_NOW_JOB_ID,
  WEBHOOKS_QUEUE,
  WebhookJobs,
} from '../webhooks.constants';

/**
 * Queues one dispatch job once a transaction that enqueued deliveries has committed
 * ({@link TenantDb.afterCommit}), so new deliveries go out at once instead of at the next
 * scheduled sweep. Before the commit the worker could not see the rows; after a rollback there
 * is nothing to send. Best effort: the rows are the durable record and the repeatable sweep
 * (WEBHOOK_DISPATCH_INTERVAL_MS) sends them anyway, so a Redis failure here is logged, never
 * thrown into the committed request.
 */
@Injectable()
export class WebhookDispatchKick {
  private readonly logger = new Logger('WebhookDispatchKick');

  constructor(
    private readonly db: TenantDb,
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue,
  ) {}

  /** Queues a dispatch once the current scoped transaction commits (now, outside one). */
  afterCommit(tenantId: string): void {
    this.db.afterCommit(() => this.queueDispatch(tenantId));
  }

  private async queueDispatch(tenantId: string): Promise<void> {
    const data: WebhookJobs[typeof WEBHOOK_DISPATCH_JOB] = { scheduledBy: 'enqueue', tenantId };
    try {
      // One waiting job at a time: a burst of commits queues one sweep, which sends them all.
      await this.queue.add(WEBHOOK_DISPATCH_JOB, withTraceContext(data), {
        jobId: WEBHOOK_DISPATCH_NOW_JOB_ID,
        removeOnComplete: true,
        removeOnFail: true,
      });
    } catch (error) {
      this.logger.warn(
        { err: error },
        'could not queue an immediate webhook dispatch; the scheduled sweep will send the deliveries',
      );
    }
  }
}
