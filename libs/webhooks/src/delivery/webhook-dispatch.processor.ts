import { AppConfig, InjectConfig, RepeatableJobs, Traced, runInJobTrace } from '@app/core';
import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { WEBHOOK_DISPATCH_JOB, WEBHOOKS_QUEUE, WebhookJobs } from '../webhooks.constants';
import { DeliveryOutcome, WebhookDispatcher } from './webhook-dispatcher';

/**
 * The webhooks queue in the worker: each `dispatch` job (scheduled, or queued after a commit
 * that enqueued deliveries) sweeps every due delivery. Concurrency 1 per process; several
 * workers share the outbox through the dispatcher's `SKIP LOCKED` claims.
 */
@Processor(WEBHOOKS_QUEUE)
export class WebhookDispatchProcessor extends WorkerHost {
  private readonly logger = new Logger('WebhookDispatchProcessor');

  constructor(private readonly dispatcher: WebhookDispatcher) {
    super();
  }

  async process(
    job: Job<Traced<WebhookJobs[typeof WEBHOOK_DISPATCH_JOB]>>,
  ): Promise<Record<DeliveryOutcome, number>> {
    return runInJobTrace(job, () => this.dispatcher.sweep());
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ jobId: job?.id, err: error }, 'webhook dispatch failed');
  }
}

/** Registers the repeatable sweep (every WEBHOOK_DISPATCH_INTERVAL_MS, one for all workers). */
@Injectable()
export class WebhookDispatchScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
    private readonly jobs: RepeatableJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(
      this.queue,
      'webhook-dispatch',
      this.config.WEBHOOK_DISPATCH_INTERVAL_MS,
      WEBHOOK_DISPATCH_JOB,
    );
  }
}
