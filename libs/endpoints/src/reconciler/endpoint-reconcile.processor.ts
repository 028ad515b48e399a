import { asTenantId } from '@app/authz';
import { AppConfig, InjectConfig, RepeatableJobs, runInJobTrace, Traced } from '@app/core';
import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { ENDPOINTS_QUEUE, EndpointJobs, RECONCILE_JOB, SWEEP_JOB } from '../endpoints.constants';
import { ENDPOINT_PROVIDER, EndpointProvider } from '../providers/endpoint-provider';
import { LocalProvider } from '../providers/local/local.provider';
import { EndpointReconciler, ReconcileOutcome } from './endpoint-reconciler';
import { ReconcileKick } from './reconcile-kick';

type EndpointJob =
  | Job<Traced<EndpointJobs[typeof RECONCILE_JOB]>, unknown, typeof RECONCILE_JOB>
  | Job<Traced<EndpointJobs[typeof SWEEP_JOB]>, unknown, typeof SWEEP_JOB>;

/**
 * The `endpoints` queue: reconcile one endpoint (re-entering its tenant's scope), or sweep
 * (queue a reconcile of every endpoint that is not deleted). A few endpoints reconcile at once;
 * one endpoint never does twice at once (see {@link EndpointReconciler}).
 */
@Processor(ENDPOINTS_QUEUE, { concurrency: 4 })
export class EndpointReconcileProcessor extends WorkerHost {
  private readonly logger = new Logger('EndpointReconcileProcessor');

  constructor(
    private readonly reconciler: EndpointReconciler,
    private readonly kick: ReconcileKick,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    super();
  }

  async process(job: EndpointJob): Promise<{ outcome: ReconcileOutcome } | { queued: number }> {
    return runInJobTrace(job, async () => {
      if (job.name === SWEEP_JOB) {
        const live = await this.reconciler.liveEndpoints();
        for (const endpoint of live) {
          await this.kick.queueReconcile(endpoint.tenantId, endpoint.id, 'sweep', 0);
        }
        return { queued: live.length };
      }
      const { tenantId, endpointId } = job.data;
      const outcome = await this.reconciler.reconcile(asTenantId(tenantId), endpointId);
      return { outcome };
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ jobId: job?.id, err: error }, 'endpoint job failed');
    const data = job?.data as { tenantId?: string; endpointId?: string } | undefined;
    if (job?.name === RECONCILE_JOB && data?.tenantId && data.endpointId) {
      // A failure outside the provider (PostgreSQL, Redis away): try again after a pause.
      void this.kick.queueReconcile(
        data.tenantId,
        data.endpointId,
        'retry after error',
        Math.min(this.config.ENDPOINT_RECONCILE_INTERVAL_MS, 10_000),
      );
    }
  }
}

/**
 * Registers the repeatable sweep (every ENDPOINT_RECONCILE_INTERVAL_MS) and makes a replica
 * that exits on its own (local provider) trigger a reconcile at once.
 */
@Injectable()
export class EndpointReconcileScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(ENDPOINTS_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
    private readonly jobs: RepeatableJobs,
    private readonly kick: ReconcileKick,
    @Inject(ENDPOINT_PROVIDER) private readonly provider: EndpointProvider,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.provider instanceof LocalProvider) {
      this.provider.onReplicaExit((tenantId, endpointId) => {
        void this.kick.queueReconcile(tenantId, endpointId, 'replica exited', 0);
      });
    }
    await this.jobs.schedule(
      this.queue,
      'endpoint-sweep',
      this.config.ENDPOINT_RECONCILE_INTERVAL_MS,
      SWEEP_JOB,
    );
  }
}
