import { withTraceContext } from '@app/core';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bullmq';
import type {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';
import {
  WEBHOOK_DISPATCH_JOB,
  WEBHOOK_DISPATCH_NOW_JOB_ID,
  WEBHOOKS_QUEUE,
  WebhookJobs,
} from '../webhooks.constants';

/** Key in TypeORM's per-runner `data` (meant for subscribers) marking a transaction that enqueued. */
const MARK = 'webhooks.dispatchAfterCommit';

/**
 * Queues one dispatch job once a transaction that enqueued deliveries has committed, so new
 * deliveries go out at once instead of at the next scheduled sweep. Before the commit the worker
 * could not see the rows; after a rollback there is nothing to send. Best effort: the rows are
 * the durable record and the repeatable sweep (WEBHOOK_DISPATCH_INTERVAL_MS) sends them anyway,
 * so a Redis failure here is logged, never thrown into the committed request.
 *
 * A TypeORM subscriber (`afterTransactionCommit`), registered on the data source at start.
 */
@Injectable()
export class WebhookDispatchKick implements EntitySubscriberInterface, OnModuleInit {
  private readonly logger = new Logger('WebhookDispatchKick');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue,
  ) {}

  onModuleInit(): void {
    this.dataSource.subscribers.push(this);
  }

  /** Queues a dispatch once the transaction of `manager` commits (now, outside one). */
  afterCommit(manager: EntityManager, tenantId: string): void {
    const runner = manager.queryRunner;
    if (!runner?.isTransactionActive) {
      void this.queueDispatch(tenantId);
      return;
    }
    (runner.data as Record<string, unknown>)[MARK] = tenantId;
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const data = event.queryRunner.data as Record<string, unknown>;
    // A released savepoint also reports a commit; only the outermost one publishes the rows.
    if (event.queryRunner.isTransactionActive || typeof data[MARK] !== 'string') return;
    const tenantId = data[MARK];
    delete data[MARK];
    void this.queueDispatch(tenantId);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) {
      delete (event.queryRunner.data as Record<string, unknown>)[MARK];
    }
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
