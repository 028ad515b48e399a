import { AuditService } from '@app/audit';
import { asTenantId, TenantDb, TenantId } from '@app/authz';
import {
  AppConfig,
  InjectConfig,
  RedisConnectionFactory,
  RepeatableJobs,
  runInJobTrace,
  Traced,
} from '@app/core';
import { CatalogService, derivedUuid } from '@app/endpoints';
import { type ChatConversation, type FineTuneStepResult } from '@app/language-model';
import { QuotaReservationService, UsageIngestionService } from '@app/metering';
import { TenantService } from '@app/tenancy';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DelayedError, Job, Worker } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseTrainingFile } from '../files/training-file-check';
import { TrainingFileService } from '../files/training-file.service';
import { FineTuningAdmission, slotEventId } from './fine-tuning-admission';
import {
  FineTuningExecutor,
  FineTuningFailure,
  SavedCheckpoint,
  TrainingOutcome,
} from './fine-tuning-executor';
import { FineTuningQueue } from './fine-tuning-queue';
import { FineTuningCheckpoint, FineTuningJob, JobError } from './fine-tuning-job.entity';
import {
  FINE_TUNING_QUEUE,
  FineTuningJobs,
  SWEEP_JOB,
  TRAIN_JOB,
  trainJobId,
  TRAINING_QUEUE,
  VALIDATE_JOB,
  validateJobId,
} from './fine-tuning.constants';
import { fineTunedModelName, recordJobEvents, transitionJob } from './job-records';

type QueueJob = Job<Traced<FineTuningJobs[keyof FineTuningJobs]>>;

/** How often a running job's cancel flag is read, ms (a cancel lands within this + one step). */
const CANCEL_CHECK_MS = 250;
/** A job still validating after this long lost its queue entry; the sweep queues it again. */
const STUCK_VALIDATION_MS = 30_000;

/**
 * The worker side of fine-tuning, on the `fine-tuning` queue: validates new jobs' files, admits
 * (see {@link FineTuningAdmission}), trains through the {@link FineTuningExecutor}, and finishes
 * jobs: status, the fine-tuned model in the tenant's catalog, quota holds settled.
 *
 * At least once: a training job's lock lasts FINE_TUNING_LOCK_MS and is renewed while it runs;
 * a worker killed mid-job lets it lapse, BullMQ's stalled-job check hands the job to another
 * worker, which resumes from the last checkpoint. Re-run steps add no events (each has a key
 * unique per job), checkpoints are unique per epoch, and usage is recorded once, by event id.
 * A worker shutting down stops its jobs at the next step and hands them back at once.
 *
 * Two queues: `fine-tuning` (validation, the sweep: short, many at once) and
 * `fine-tuning-training` (FINE_TUNING_WORKER_CONCURRENCY at once), so a backlog of validations
 * never waits behind training, nor training behind validations. The BullMQ workers are built
 * here (not with `@Processor`) because the training lock's timing is configuration.
 */
@Injectable()
export class FineTuningRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('FineTuningRunner');
  private workers: Worker[] = [];
  private closing = false;

  constructor(
    private readonly db: TenantDb,
    private readonly files: TrainingFileService,
    private readonly catalog: CatalogService,
    private readonly tenants: TenantService,
    private readonly reservations: QuotaReservationService,
    private readonly ingestion: UsageIngestionService,
    private readonly admission: FineTuningAdmission,
    private readonly queue: FineTuningQueue,
    private readonly executor: FineTuningExecutor,
    private readonly audit: AuditService,
    private readonly redis: RedisConnectionFactory,
    private readonly jobs: RepeatableJobs,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const lockMs = this.config.FINE_TUNING_LOCK_MS;
    const common = { prefix: this.config.REDIS_KEY_PREFIX };
    this.workers = [
      new Worker(FINE_TUNING_QUEUE, (job, token) => this.process(job, token), {
        ...common,
        connection: this.redis.create('worker', 'bullmq-fine-tuning'),
        concurrency: 8,
      }),
      new Worker(TRAINING_QUEUE, (job, token) => this.process(job, token), {
        ...common,
        connection: this.redis.create('worker', 'bullmq-fine-tuning-training'),
        concurrency: this.config.FINE_TUNING_WORKER_CONCURRENCY,
        lockDuration: lockMs,
        stalledInterval: lockMs,
        maxStalledCount: 100,
      }),
    ];
    for (const worker of this.workers) {
      worker.on('failed', (job, error) => void this.onFailed(job, error));
      worker.on('error', (error) => this.logger.warn({ err: error }, 'fine-tuning worker error'));
    }
    await this.jobs.schedule(
      this.queue.queue,
      'fine-tuning-sweep',
      this.config.FINE_TUNING_SWEEP_INTERVAL_MS,
      SWEEP_JOB,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((worker) => worker.close()));
  }

  private async process(job: QueueJob, token?: string): Promise<unknown> {
    return runInJobTrace(job, async () => {
      if (job.name === SWEEP_JOB) return this.sweep();
      const { tenantId, jobId } = job.data as FineTuningJobs[typeof TRAIN_JOB];
      if (job.name === VALIDATE_JOB) {
        await this.validate(asTenantId(tenantId), jobId);
        await this.admission.admit();
        return undefined;
      }
      let outcome: TrainingOutcome | undefined;
      try {
        outcome = await this.train(asTenantId(tenantId), jobId);
      } catch (error) {
        if (!(error instanceof FineTuningFailure && error.permanent)) throw error; // retried
        await this.failJob(asTenantId(tenantId), jobId, {
          code: error.code,
          message: error.message,
          param: error.param,
        });
        return { outcome: 'failed' };
      }
      if (outcome?.kind === 'stopped' && outcome.reason === 'shutdown') {
        // Back to the queue now, without spending an attempt: another worker resumes it.
        await job.moveToDelayed(Date.now() + 100, token);
        throw new DelayedError();
      }
      return { outcome: outcome?.kind };
    });
  }

  /** `validating_files → queued`, or `failed` when a file is gone or changed since upload. */
  private async validate(tenantId: TenantId, jobId: string): Promise<void> {
    await this.db.run({ kind: 'tenant', tenantId }, async () => {
      const manager = this.db.manager;
      const job = await manager
        .getRepository(FineTuningJob)
        .findOne({ where: { tenantId, id: jobId }, lock: { mode: 'pessimistic_write' } });
      if (!job || job.status !== 'validating_files') return;
      const problem = await this.checkFiles(job);
      if (problem) {
        await transitionJob(manager, this.audit, job, 'fail', {
          changes: { error: problem, finishedAt: new Date() },
          message: problem.message,
          reason: problem.code,
          level: 'error',
        });
        return;
      }
      await transitionJob(manager, this.audit, job, 'validate', {
        changes: { queuedAt: new Date() },
        message: 'Files validated; the job is queued',
      });
    });
  }

  private async checkFiles(job: FineTuningJob): Promise<JobError | undefined> {
    for (const [param, fileId] of [
      ['training_file', job.trainingFile],
      ['validation_file', job.validationFile],
    ] as const) {
      if (!fileId) continue;
      try {
        await this.files.bytes(asTenantId(job.tenantId), fileId);
      } catch (error) {
        return {
          code: 'invalid_file',
          message: `The ${param.replace('_', ' ')} ${fileId} cannot be read: ${(error as Error).message}`,
          param,
        };
      }
    }
    return undefined;
  }

  /** Trains an admitted job (from its last checkpoint), then finishes it. */
  private async train(tenantId: TenantId, jobId: string): Promise<TrainingOutcome | undefined> {
    const loaded = await this.db.run({ kind: 'tenant', tenantId }, async () => {
      const job = await this.db.manager
        .getRepository(FineTuningJob)
        .findOneBy({ tenantId, id: jobId });
      if (!job || job.status !== 'running') return { job };
      const [last] = await this.db.manager.getRepository(FineTuningCheckpoint).find({
        select: { epoch: true, trainedTokens: true, artifactPath: true, stepNumber: true },
        where: { tenantId, jobId },
        order: { epoch: 'DESC' },
        take: 1,
      });
      const read = async (fileId: string | null): Promise<ChatConversation[]> =>
        fileId ? parseTrainingFile((await this.files.bytes(tenantId, fileId)).bytes) : [];
      try {
        return {
          job,
          last,
          training: await read(job.trainingFile),
          validation: await read(job.validationFile),
        };
      } catch (error) {
        throw new FineTuningFailure(
          'invalid_file',
          (error as Error).message,
          true,
          'training_file',
        );
      }
    });
    const { job, last } = loaded;
    if (!job) return undefined;
    if (job.status !== 'running') {
      await this.settle(tenantId, jobId);
      return undefined;
    }
    if (job.cancelRequestedAt) {
      await this.finish(job, {
        kind: 'stopped',
        reason: 'cancel',
        trainedTokens: last?.trainedTokens ?? 0,
      });
      return undefined;
    }
    if (last) {
      await this.events(job, [
        {
          key: `resumed:${last.epoch}:${randomBytes(4).toString('hex')}`,
          message: `Resumed from the checkpoint at step ${last.stepNumber} (epoch ${last.epoch})`,
          level: 'warn',
        },
      ]);
    }
    let lastCheck = 0;
    const outcome = await this.executor.train(
      {
        tenantId,
        jobId,
        baseModel: job.model,
        training: loaded.training!,
        validation: loaded.validation!,
        nEpochs: job.nEpochs,
        batchSize: job.batchSize,
        learningRateMultiplier: job.learningRateMultiplier,
        seed: job.seed,
        resumeFrom: last
          ? {
              epoch: last.epoch,
              artifactPath: last.artifactPath,
              trainedTokens: last.trainedTokens,
            }
          : undefined,
        artifactDir: resolve(this.config.DATA_DIR, 'fine-tuning', tenantId, jobId),
      },
      {
        step: (step) => this.events(job, [stepEvent(step)]),
        checkpoint: (checkpoint) => this.checkpoint(job, checkpoint),
        shouldStop: async () => {
          if (this.closing) return 'shutdown';
          if (Date.now() - lastCheck < CANCEL_CHECK_MS) return undefined;
          lastCheck = Date.now();
          const [row] = (await this.db.inTenant(tenantId, (manager) =>
            manager.query(
              `SELECT j.cancel_requested_at IS NOT NULL AS cancel, j.status,
                      t.status AS tenant_status
                 FROM fine_tuning_jobs j JOIN tenants t ON t.id = j.tenant_id
                WHERE j.tenant_id = $1 AND j.id = $2`,
              [tenantId, jobId],
            ),
          )) as { cancel: boolean; status: string; tenant_status: string }[];
          const stop = !row || row.cancel || row.status !== 'running';
          return stop || row.tenant_status === 'offboarded' ? 'cancel' : undefined;
        },
      },
    );
    if (outcome.kind === 'completed' || outcome.reason === 'cancel')
      await this.finish(job, outcome);
    return outcome;
  }

  private async events(job: FineTuningJob, events: Parameters<typeof recordJobEvents>[2]) {
    await this.db.inTenant(asTenantId(job.tenantId), (manager) =>
      recordJobEvents(manager, job, events),
    );
  }

  private async checkpoint(job: FineTuningJob, checkpoint: SavedCheckpoint): Promise<void> {
    await this.db.inTenant(asTenantId(job.tenantId), async (manager) => {
      const metrics = {
        step: checkpoint.step,
        train_loss: checkpoint.trainLoss,
        ...(checkpoint.validLoss !== undefined ? { valid_loss: checkpoint.validLoss } : {}),
      };
      await manager.query(
        `INSERT INTO fine_tuning_checkpoints
           (id, tenant_id, job_id, step_number, epoch, metrics, trained_tokens, artifact_path)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_id, epoch) DO NOTHING`,
        [
          `ftckpt-${randomBytes(12).toString('hex')}`,
          job.tenantId,
          job.id,
          checkpoint.step,
          checkpoint.epoch,
          JSON.stringify(metrics),
          checkpoint.trainedTokens,
          checkpoint.artifactPath,
        ],
      );
      await recordJobEvents(manager, job, [
        {
          key: `checkpoint:${checkpoint.epoch}`,
          message: `Checkpoint saved at step ${checkpoint.step} (epoch ${checkpoint.epoch})`,
          data: { epoch: checkpoint.epoch, ...metrics },
        },
      ]);
    });
  }

  /**
   * Ends a job: `succeeded` (its model registered in the tenant's catalog as
   * `ft:{base}:{tenant}:{suffix}:{id}`, deployable on a dedicated endpoint) or `cancelled`
   * (keeping its checkpoints), or `failed` with `error`; then settles its quota holds and admits
   * the next waiting job.
   */
  private async finish(
    job: FineTuningJob,
    result: TrainingOutcome | { kind: 'failed'; error: JobError },
  ): Promise<void> {
    let outcome = result;
    const tenantId = asTenantId(job.tenantId);
    await this.db.run({ kind: 'tenant', tenantId }, async () => {
      const manager = this.db.manager;
      const current = await manager
        .getRepository(FineTuningJob)
        .findOne({ where: { tenantId, id: job.id }, lock: { mode: 'pessimistic_write' } });
      if (!current || current.status !== 'running') return;
      const finishedAt = new Date();
      const tenant = await this.tenants.get(tenantId);
      if (
        outcome.kind === 'completed' &&
        (current.cancelRequestedAt || tenant.status === 'offboarded')
      ) {
        // A cancel asked before the end is honoured even if the last step came first.
        outcome = { kind: 'stopped', reason: 'cancel', trainedTokens: outcome.trainedTokens };
      }
      if (outcome.kind === 'completed') {
        const name = fineTunedModelName(current, tenant.slug);
        await this.catalog.registerFineTuned(tenantId, {
          id: name,
          baseModelId: current.model,
          artifactUri: outcome.artifactPath,
        });
        await transitionJob(manager, this.audit, current, 'succeed', {
          changes: { fineTunedModel: name, trainedTokens: outcome.trainedTokens, finishedAt },
          message: `Fine-tuning job succeeded: ${name}`,
        });
      } else if (outcome.kind === 'stopped') {
        const offboarded = tenant.status === 'offboarded';
        await transitionJob(manager, this.audit, current, 'cancel', {
          changes: { trainedTokens: outcome.trainedTokens, finishedAt },
          message: offboarded
            ? 'Fine-tuning job cancelled: the tenant is offboarded'
            : 'Fine-tuning job cancelled',
          ...(offboarded ? { reason: 'tenant_offboarded' } : {}),
        });
      } else {
        await transitionJob(manager, this.audit, current, 'fail', {
          changes: { error: outcome.error, finishedAt },
          message: outcome.error.message,
          reason: outcome.error.code,
          level: 'error',
        });
      }
    });
    await this.settle(tenantId, job.id);
    await this.admission.admit();
  }

  /**
   * Settles a finished job's quota holds, once: the trained tokens committed as usage (a
   * cancelled job pays for what it trained; the rest of the hold is released), a failed job's
   * hold released, and its training slot given back (`concurrent_fine_tuning_jobs` −1; the +1
   * recorded again by id in case its commit was lost). Idempotent.
   */
  private async settle(tenantId: TenantId, jobId: string): Promise<void> {
    const job = await this.db.inTenant(tenantId, (manager) =>
      manager.getRepository(FineTuningJob).findOne({
        select: {
          id: true,
          tenantId: true,
          status: true,
          startedAt: true,
          finishedAt: true,
          trainedTokens: true,
          trainingReservationId: true,
          usageSettled: true,
        },
        where: { tenantId, id: jobId },
      }),
    );
    if (!job || job.usageSettled || !job.finishedAt) return;
    // An offboarded tenant's ledger is closed: its holds are released, nothing more recorded.
    const [tenant] = (await this.db.inTenant(tenantId, (manager) =>
      manager.query(`SELECT status FROM tenants WHERE id = $1`, [tenantId]),
    )) as { status: string }[];
    const offboarded = tenant?.status === 'offboarded';
    if (job.startedAt && job.trainingReservationId) {
      const tokens = job.status === 'failed' || offboarded ? 0 : (job.trainedTokens ?? 0);
      if (tokens > 0) {
        await this.reservations.commit(job.trainingReservationId, tokens, {
          fineTuningJobId: job.id,
        });
      } else {
        await this.reservations.release(job.trainingReservationId);
      }
    }
    // `run` (not `inTenant`): ingestion joins this transaction through the CLS context.
    await this.db.run({ kind: 'tenant', tenantId }, async () => {
      if (job.startedAt && !offboarded) {
        const result = await this.ingestion.record([
          {
            id: slotEventId(job.id),
            tenantId,
            metric: 'concurrent_fine_tuning_jobs',
            quantity: 1,
            occurredAt: job.startedAt.toISOString(),
            fineTuningJobId: job.id,
          },
          {
            id: derivedUuid(`fine-tuning-slot-end:${job.id}`),
            tenantId,
            metric: 'concurrent_fine_tuning_jobs',
            quantity: -1,
            occurredAt: job.finishedAt!.toISOString(),
            fineTuningJobId: job.id,
          },
        ]);
        if (result.rejected.length > 0) {
          throw new Error(`fine-tuning slot usage refused: ${result.rejected[0].message}`);
        }
      }
      await this.db.manager.query(
        `UPDATE fine_tuning_jobs SET usage_settled = true WHERE tenant_id = $1 AND id = $2`,
        [tenantId, jobId],
      );
    });
  }

  /** A training job out of attempts (transient errors every time): `failed`. */
  private async onFailed(job: QueueJob | undefined, error: Error): Promise<void> {
    if (!job || job.name !== TRAIN_JOB) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1);
    this.logger.warn({ err: error, jobId: job.id, final }, 'fine-tuning training failed');
    if (!final) return;
    const { tenantId, jobId } = job.data as FineTuningJobs[typeof TRAIN_JOB];
    await this.failJob(asTenantId(tenantId), jobId, {
      code: 'internal_error',
      message: `Training failed ${job.attemptsMade} times; the last error: ${error.message}`.slice(
        0,
        1000,
      ),
      param: null,
    }).catch((failure: unknown) =>
      this.logger.error({ err: failure, jobId }, 'could not record a failed fine-tuning job'),
    );
  }

  private async failJob(tenantId: TenantId, jobId: string, error: JobError): Promise<void> {
    const row = await this.db.inTenant(tenantId, (manager) =>
      manager.getRepository(FineTuningJob).findOneBy({ tenantId, id: jobId }),
    );
    if (row) await this.finish(row, { kind: 'failed', error });
  }

  /**
   * Every FINE_TUNING_SWEEP_INTERVAL_MS: admit waiting jobs, queue again what lost its queue
   * entry (a validating job, a running job without a training entry), settle finished jobs
   * whose holds were not settled.
   */
  private async sweep(): Promise<{ admitted: number; requeued: number }> {
    const rows = (await this.db.asPlatform('fine-tuning sweep', (manager) =>
      manager.query(
        `SELECT tenant_id, id, status, created_at FROM fine_tuning_jobs
          WHERE status IN ('validating_files', 'running')
             OR (usage_settled = false AND finished_at IS NOT NULL)
          LIMIT 1000`,
      ),
    )) as { tenant_id: string; id: string; status: string; created_at: Date }[];
    let requeued = 0;
    for (const row of rows) {
      if (row.status === 'validating_files') {
        if (Date.now() - row.created_at.getTime() < STUCK_VALIDATION_MS) continue;
        if (await this.queue.queue.getJob(validateJobId(row.id))) continue;
        await this.queue.validate(row.tenant_id, row.id, 1);
        requeued += 1;
      } else if (row.status === 'running') {
        if (await this.queue.training.getJob(trainJobId(row.id))) continue;
        await this.queue.train(row.tenant_id, row.id);
        requeued += 1;
      } else {
        await this.settle(asTenantId(row.tenant_id), row.id).catch((error: unknown) =>
          this.logger.warn({ err: error, jobId: row.id }, 'settling a fine-tuning job failed'),
        );
      }
    }
    return { admitted: await this.admission.admit(), requeued };
  }
}

function stepEvent(step: FineTuneStepResult) {
  const valid =
    step.validationLoss !== undefined ? `, validation loss=${step.validationLoss.toFixed(4)}` : '';
  return {
    key: `step:${step.step}`,
    type: 'metrics' as const,
    message: `Step ${step.step}/${step.totalSteps}: training loss=${step.trainLoss.toFixed(4)}${valid}`,
    data: {
      step: step.step,
      total_steps: step.totalSteps,
      epoch: step.epoch,
      train_loss: step.trainLoss,
      ...(step.validationLoss !== undefined ? { valid_loss: step.validationLoss } : {}),
    },
  };
}
