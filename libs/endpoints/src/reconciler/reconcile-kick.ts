import { TenantDb } from '@app/authz';
import { withTraceContext } from '@app/core';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { ENDPOINTS_QUEUE, EndpointJobs, RECONCILE_JOB } from '../endpoints.constants';

/**
 * Queues a reconcile of one endpoint: after the current transaction commits (the worker must
 * see the change), or after `delayMs`. Best effort: the repeatable sweep
 * (ENDPOINT_RECONCILE_INTERVAL_MS) reconciles every endpoint anyway, so a Redis failure here is
 * logged, not thrown into a committed request.
 */
@Injectable()
export class ReconcileKick {
  private readonly logger = new Logger('ReconcileKick');

  constructor(
    private readonly db: TenantDb,
    @InjectQueue(ENDPOINTS_QUEUE) private readonly queue: Queue,
  ) {}

  /** Once the current scoped transaction commits (now, outside one). */
  afterCommit(tenantId: string, endpointId: string, reason: string): void {
    this.db.afterCommit(() => this.queueReconcile(tenantId, endpointId, reason, 0));
  }

  async queueReconcile(
    tenantId: string,
    endpointId: string,
    reason: string,
    delayMs: number,
  ): Promise<void> {
    const data: EndpointJobs[typeof RECONCILE_JOB] = { tenantId, endpointId, reason };
    try {
      await this.queue.add(RECONCILE_JOB, withTraceContext(data), {
        // Unique per request: a change made while a reconcile runs gets its own run after it
        // (the per-endpoint lock serializes them; a converged endpoint's run is a no-op).
        jobId: `reconcile-${endpointId}-${randomUUID()}`,
        delay: delayMs,
        removeOnComplete: true,
        removeOnFail: 1000,
      });
    } catch (error) {
      this.logger.warn(
        { err: error, endpointId },
        'could not queue an endpoint reconcile; the sweep will reconcile it',
      );
    }
  }
}
