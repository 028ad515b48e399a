import { AuditService } from '@app/audit';
import { TenantDb, TenantId, TenantSuspended } from '@app/authz';
import { Actor, actorRef, NotFound, ValidationFailed } from '@app/core';
import { CatalogService, ModelFamilyNotAllowed, NoContractInForce } from '@app/endpoints';
import { trainingTokensPerEpoch } from '@app/language-model';
import { QuotaReservationService, QuotaStateUnavailable } from '@app/metering';
import { storedProfile, TenantService } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  IllegalJobTransition,
  ModelNotFineTunable,
  TrainingQuotaExceeded,
} from '../fine-tuning-problems';
import { parseTrainingFile } from '../files/training-file-check';
import { newestFirstPage, OpenAiPage } from '../openai-page';
import { TrainingFileService } from '../files/training-file.service';
import { eventUuid } from './dto/fine-tuning-job.response';
import { FineTuningQueue } from './fine-tuning-queue';
import { FineTuningCheckpoint, FineTuningJob, FineTuningJobEvent } from './fine-tuning-job.entity';
import { isFinished } from './job-lifecycle';
import { fineTunedModelName, recordJobEvents, transitionJob } from './job-records';
import { trainingRefusal } from './training-admission.policy';

/** A hyperparameter as asked: `auto` (or absent) or a value. */
type Asked = number | 'auto' | undefined;

export interface NewFineTuningJob {
  model: string;
  trainingFile: string;
  validationFile?: string;
  hyperparameters: { nEpochs?: Asked; batchSize?: Asked; learningRateMultiplier?: Asked };
  suffix?: string;
  seed?: number;
  metadata?: Record<string, string>;
}

/**
 * What `auto` resolves to (documented in the README): 3 epochs; a batch of about 0.2 % of the
 * examples, 1 to 256; a learning-rate multiplier of 2 (the n-gram model's count weight).
 */
export function resolveHyperparameters(
  asked: NewFineTuningJob['hyperparameters'],
  examples: number,
): { nEpochs: number; batchSize: number; learningRateMultiplier: number } {
  const value = (v: Asked, auto: number) => (v === undefined || v === 'auto' ? auto : v);
  return {
    nEpochs: value(asked.nEpochs, 3),
    batchSize: value(asked.batchSize, Math.min(256, Math.max(1, Math.round(examples * 0.002)))),
    learningRateMultiplier: value(asked.learningRateMultiplier, 2),
  };
}

/**
 * A tenant's fine-tuning jobs (OpenAI `/v1/fine_tuning/jobs`): create (checked, estimated and
 * quota-checked at once; the worker then validates the files, admits the job fairly and trains
 * it), list, read, cancel, and the job's events and checkpoints. Runs in the request's
 * tenant-scoped transaction (the transaction interceptor audits each request).
 */
@Injectable()
export class FineTuningJobService {
  private readonly logger = new Logger('FineTuningJobs');

  constructor(
    private readonly db: TenantDb,
    private readonly files: TrainingFileService,
    private readonly catalog: CatalogService,
    private readonly tenants: TenantService,
    private readonly reservations: QuotaReservationService,
    private readonly queue: FineTuningQueue,
    private readonly audit: AuditService,
  ) {}

  /**
   * @returns the job, `validating_files`
   * @throws TenantSuspended (403); ValidationFailed (400: unknown model or file, a file of
   *   another purpose); ModelNotFineTunable (400); ModelFamilyNotAllowed (403);
   *   TrainingQuotaExceeded (429, Retry-After); NoContractInForce (409); QuotaStateUnavailable
   *   (503)
   */
  async create(tenantId: TenantId, input: NewFineTuningJob, by: Actor): Promise<FineTuningJob> {
    const tenant = await this.tenants.get(tenantId);
    if (tenant.status === 'suspended') {
      throw new TenantSuspended('The tenant is suspended; it cannot start fine-tuning jobs.');
    }
    const model = await this.catalog.findForTenant(tenantId, input.model);
    if (!model) {
      throw new ValidationFailed('Unknown model.', {
        errors: [{ path: 'model', message: `no model "${input.model}" in the tenant's catalog` }],
      });
    }
    const refusal = trainingRefusal(storedProfile(tenant.complianceProfile), model);
    if (refusal === 'model_not_fine_tunable') {
      throw new ModelNotFineTunable(`${model.id} cannot be fine-tuned.`, {
        extensions: { model: model.id },
      });
    }
    if (refusal === 'model_family_not_allowed') {
      throw new ModelFamilyNotAllowed(
        `The compliance profile does not allow the "${model.family}" model family.`,
        { extensions: { family: model.family } },
      );
    }
    const training = await this.trainingFile(tenantId, input.trainingFile, 'training_file');
    if (input.validationFile) {
      await this.trainingFile(tenantId, input.validationFile, 'validation_file');
    }
    const hyperparameters = resolveHyperparameters(input.hyperparameters, training.examples);
    const estimatedTokens = training.tokensPerEpoch * hyperparameters.nEpochs;
    await this.assertQuotaFits(tenantId, estimatedTokens);

    const id = `ftjob-${randomBytes(12).toString('hex')}`;
    await this.db.manager.getRepository(FineTuningJob).insert({
      id,
      tenantId,
      model: model.id,
      trainingFile: input.trainingFile,
      validationFile: input.validationFile ?? null,
      ...hyperparameters,
      suffix: input.suffix ?? null,
      seed: input.seed ?? randomBytes(4).readUInt32BE() >>> 1,
      metadata: input.metadata ?? null,
      status: 'validating_files',
      estimatedTokens,
      createdBy: actorRef(by),
    });
    await recordJobEvents(this.db.manager, { tenantId, id }, [
      {
        key: 'created',
        message: `Created fine-tuning job: ${model.id}, ${training.examples} examples, ${hyperparameters.nEpochs} epoch(s), ${estimatedTokens} training tokens`,
        data: { estimated_tokens: estimatedTokens },
      },
      {
        key: 'status:validating_files',
        message: 'Validating training file',
        data: { status: 'validating_files' },
      },
    ]);
    const [{ backlog }] = (await this.db.manager.query(
      `SELECT count(*)::int AS backlog FROM fine_tuning_jobs
        WHERE tenant_id = $1 AND status = 'validating_files'`,
      [tenantId],
    )) as { backlog: number }[];
    this.queue.validateAfterCommit(tenantId, id, backlog);
    return this.get(tenantId, id);
  }

  /** Newest first; `after` is the id of the last job of the previous page (OpenAI paging). */
  async list(
    tenantId: TenantId,
    { limit, after }: { limit: number; after?: string },
  ): Promise<OpenAiPage<FineTuningJob>> {
    const query = this.db.manager
      .getRepository(FineTuningJob)
      .createQueryBuilder('j')
      .where('j.tenant_id = :tenantId', { tenantId });
    return newestFirstPage(query, { limit, after }, (id) => this.get(tenantId, id), 'job');
  }

  /** @throws NotFound for no such job in this tenant (another tenant's too). */
  async get(tenantId: TenantId, id: string): Promise<FineTuningJob> {
    const job = /^ftjob-[0-9a-f]{24}$/.test(id)
      ? await this.db.manager.getRepository(FineTuningJob).findOneBy({ tenantId, id })
      : null;
    if (!job) throw new NotFound('No such fine-tuning job.');
    return job;
  }

  /**
   * Cancels a job: one that has not started ends `cancelled` at once; a running one is flagged
   * and its executor stops at its next step (within seconds), keeping its last checkpoint and
   * settling its quota holds; the job reads `cancelled` then.
   *
   * @throws NotFound; IllegalJobTransition (409) for a finished job
   */
  async cancel(tenantId: TenantId, id: string, by: Actor): Promise<FineTuningJob> {
    await this.get(tenantId, id);
    const job = await this.db.manager
      .getRepository(FineTuningJob)
      .findOneOrFail({ where: { tenantId, id }, lock: { mode: 'pessimistic_write' } });
    if (isFinished(job.status)) {
      throw new IllegalJobTransition(
        `The job is ${job.status}; only unfinished jobs can be cancelled.`,
        {
          extensions: { jobStatus: job.status },
        },
      );
    }
    if (job.status === 'running') {
      if (!job.cancelRequestedAt) {
        await this.db.manager
          .getRepository(FineTuningJob)
          .update({ tenantId, id }, { cancelRequestedAt: new Date() });
        await recordJobEvents(this.db.manager, job, [
          { key: 'cancel-requested', message: 'Cancellation requested; stopping at the next step' },
        ]);
      }
    } else {
      await transitionJob(this.db.manager, this.audit, job, 'cancel', {
        changes: { finishedAt: new Date(), cancelRequestedAt: new Date() },
        message: 'Fine-tuning job cancelled before it started',
        actor: by,
      });
    }
    return this.get(tenantId, id);
  }

  /** Newest first; `after` is the id of the last event of the previous page. @throws NotFound */
  async events(
    tenantId: TenantId,
    id: string,
    { limit, after }: { limit: number; after?: string },
  ): Promise<OpenAiPage<FineTuningJobEvent>> {
    await this.get(tenantId, id);
    const query = this.db.manager
      .getRepository(FineTuningJobEvent)
      .createQueryBuilder('e')
      .where('e.tenant_id = :tenantId AND e.job_id = :id', { tenantId, id })
      .orderBy('e.seq', 'DESC')
      .limit(limit + 1);
    if (after) {
      const uuid = eventUuid(after);
      const anchor = uuid
        ? await this.db.manager
            .getRepository(FineTuningJobEvent)
            .findOneBy({ tenantId, jobId: id, id: uuid })
        : null;
      if (!anchor) {
        throw new ValidationFailed('Unknown cursor.', {
          errors: [{ path: 'after', message: 'no such event of this job' }],
        });
      }
      query.andWhere('e.seq < :seq', { seq: anchor.seq });
    }
    const rows = await query.getMany();
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** Newest first; `after` is the id of the last checkpoint of the previous page. @throws NotFound */
  async checkpoints(
    tenantId: TenantId,
    id: string,
    { limit, after }: { limit: number; after?: string },
  ): Promise<{ job: FineTuningJob; page: OpenAiPage<FineTuningCheckpoint> }> {
    const job = await this.get(tenantId, id);
    const query = this.db.manager
      .getRepository(FineTuningCheckpoint)
      .createQueryBuilder('c')
      .where('c.tenant_id = :tenantId AND c.job_id = :id', { tenantId, id })
      .orderBy('c.step_number', 'DESC')
      .limit(limit + 1);
    if (after) {
      const anchor = await this.db.manager
        .getRepository(FineTuningCheckpoint)
        .findOneBy({ tenantId, jobId: id, id: after });
      if (!anchor) {
        throw new ValidationFailed('Unknown cursor.', {
          errors: [{ path: 'after', message: 'no such checkpoint of this job' }],
        });
      }
      query.andWhere('c.step_number < :step', { step: anchor.stepNumber });
    }
    const rows = await query.getMany();
    return { job, page: { data: rows.slice(0, limit), hasMore: rows.length > limit } };
  }

  /** The job's `fine_tuned_model` name (also before it exists: checkpoints are named after it). */
  async modelNameOf(job: FineTuningJob): Promise<string> {
    if (job.fineTunedModel) return job.fineTunedModel;
    const tenant = await this.tenants.get(job.tenantId as TenantId);
    return fineTunedModelName(job, tenant.slug);
  }

  /**
   * A file the job may use, with its examples and its assistant tokens per epoch (counted at
   * upload; counted now for a file uploaded before that was recorded).
   *
   * @throws ValidationFailed (400, on `param`) when it is not this tenant's `fine-tune` file
   */
  private async trainingFile(
    tenantId: TenantId,
    fileId: string,
    param: 'training_file' | 'validation_file',
  ): Promise<{ examples: number; tokensPerEpoch: number }> {
    const file = await this.files.get(tenantId, fileId).catch((error: unknown) => {
      if (error instanceof NotFound) return undefined;
      throw error;
    });
    if (!file) {
      throw new ValidationFailed('Unknown file.', {
        errors: [{ path: param, message: `no file "${fileId}" in this tenant` }],
      });
    }
    if (file.purpose !== 'fine-tune') {
      throw new ValidationFailed('Wrong file purpose.', {
        errors: [{ path: param, message: 'the file’s purpose must be fine-tune' }],
      });
    }
    const tokensPerEpoch =
      file.trainingTokens ??
      trainingTokensPerEpoch(parseTrainingFile((await this.files.bytes(tenantId, fileId)).bytes));
    return { examples: file.lineCount, tokensPerEpoch };
  }

  /**
   * Would `tokens` fit the `training_tokens` lines now? A reservation taken and given back at
   * once: the job holds its tokens only from admission (a queued job may wait long), when the
   * check is made again for good.
   */
  private async assertQuotaFits(tenantId: TenantId, tokens: number): Promise<void> {
    const reservation = await this.reservations.reserve({
      tenantId,
      metric: 'training_tokens',
      quantity: Math.max(1, tokens),
      ttlMs: 10_000,
    });
    if (reservation.granted) {
      await this.reservations.release(reservation.reservationId).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'releasing a trial training reservation failed');
      });
      return;
    }
    if (reservation.reason === 'no_contract_in_force') {
      throw new NoContractInForce('The tenant has no contract in force now.');
    }
    if (reservation.reason === 'quota_exceeded') {
      const line = reservation.line;
      const retryAt = reservation.retryAt ?? null;
      throw new TrainingQuotaExceeded(
        `The job would train on ${tokens} tokens; the ${line?.period ?? ''} training_tokens line has ${line?.remaining ?? 0} left.`,
        {
          extensions: {
            estimatedTokens: tokens,
            line: line ? { metric: line.metric, period: line.period, limit: line.limit } : null,
            remaining: Number(line?.remaining ?? 0),
            retryAt: retryAt?.toISOString() ?? null,
          },
          ...(retryAt
            ? {
                headers: {
                  'Retry-After': String(
                    Math.max(1, Math.ceil((retryAt.getTime() - Date.now()) / 1000)),
                  ),
                },
              }
            : {}),
        },
      );
    }
    throw new QuotaStateUnavailable('Quota counters cannot be read now; retry shortly.');
  }
}
