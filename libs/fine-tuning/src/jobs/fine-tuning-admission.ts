import { AuditService } from '@app/audit';
import { asTenantId, TenantDb, TenantId } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { derivedUuid } from '@app/endpoints';
import { QuotaReservationService, Reservation } from '@app/metering';
import { ComplianceProfile, storedProfile } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { In } from 'typeorm';
import { FineTuningQueue } from './fine-tuning-queue';
import { FineTuningJob, JobError } from './fine-tuning-job.entity';
import { transitionJob } from './job-records';
import { TrainingTarget, trainingRefusal } from './training-admission.policy';

type AdmitOutcome = 'admitted' | 'failed' | 'waits' | 'none';

/** The id of a job's `concurrent_fine_tuning_jobs` +1 usage event (its −1 derives from it). */
export const slotEventId = (jobId: string) => derivedUuid(`fine-tuning-slot:${jobId}`);
/** The id of a job's `training_tokens` usage event. */
export const trainingEventId = (jobId: string) => derivedUuid(`fine-tuning-tokens:${jobId}`);

/**
 * Admission of queued fine-tuning jobs to the FINE_TUNING_MAX_RUNNING training slots of the
 * deployment, fair across tenants without BullMQ Pro groups: the slots go round-robin over the
 * tenants that have jobs waiting, the tenant whose last admission is oldest (or who never had
 * one) first, one job per turn, each tenant's jobs in creation order (FIFO). A tenant with a
 * thousand waiting jobs thus gets one slot per round like a tenant with one: its backlog never
 * delays another tenant's first job by more than the jobs already training.
 *
 * The compliance profile is checked again (it may have changed while the job waited: a family
 * no longer allowed fails the job); a suspended tenant's jobs wait, an offboarded tenant's fail.
 * Admitting a job takes two quota holds, as one decision: a `concurrent_fine_tuning_jobs` unit
 * (refused: the tenant is at its cap and its jobs wait) and the job's estimated
 * `training_tokens` (refused: the job fails with `quota_exceeded`). Serialized across processes
 * by a PostgreSQL advisory lock held for the round; each admission commits on its own, then the
 * job is queued for training.
 */
@Injectable()
export class FineTuningAdmission {
  private readonly logger = new Logger('FineTuningAdmission');

  constructor(
    private readonly db: TenantDb,
    private readonly reservations: QuotaReservationService,
    private readonly queue: FineTuningQueue,
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Fills the free slots. @returns how many jobs were admitted */
  async admit(): Promise<number> {
    let admitted = 0;
    await this.db.asPlatform('fine-tuning admission', async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('fine-tuning.admission'))`);
      const [{ running }] = (await manager.query(
        `SELECT count(*)::int AS running FROM fine_tuning_jobs WHERE status = 'running'`,
      )) as { running: number }[];
      let free = this.config.FINE_TUNING_MAX_RUNNING - running;
      if (free <= 0) return;
      const waiting = (await manager.query(
        `SELECT w.tenant_id
           FROM (SELECT tenant_id, min(created_at) AS first
                   FROM fine_tuning_jobs WHERE status = 'queued' GROUP BY tenant_id) w
           LEFT JOIN fine_tuning_tenant_admissions a ON a.tenant_id = w.tenant_id
          ORDER BY a.last_admitted_at ASC NULLS FIRST, w.first ASC
          LIMIT 1000`,
      )) as { tenant_id: string }[];
      const turns = waiting.map((row) => asTenantId(row.tenant_id));
      while (free > 0 && turns.length > 0) {
        const tenantId = turns.shift()!;
        const outcome = await this.admitNext(tenantId);
        if (outcome === 'admitted') {
          free -= 1;
          admitted += 1;
          turns.push(tenantId);
        } else if (outcome === 'failed') {
          turns.unshift(tenantId); // its next job may fit
        }
      }
    });
    return admitted;
  }

  /** The tenant's oldest waiting job: admitted, failed (quota), or left waiting. */
  private async admitNext(tenantId: TenantId): Promise<AdmitOutcome> {
    let admittedJob: FineTuningJob | undefined;
    let holds: string[] = [];
    const outcome = await this.db
      .run({ kind: 'tenant', tenantId }, async (): Promise<AdmitOutcome> => {
        const manager = this.db.manager;
        const jobs = manager.getRepository(FineTuningJob);
        // Creation order: the tenant's oldest job not yet admitted goes first. While its files
        // are still being checked (checks run concurrently, so a younger job may be queued
        // first), the tenant's turn passes; its check ends with another admission round.
        const oldest = await jobs.findOne({
          select: { id: true, status: true },
          where: { tenantId, status: In(['validating_files', 'queued']) },
          order: { createdAt: 'ASC', id: 'ASC' },
        });
        if (!oldest) return 'none';
        if (oldest.status !== 'queued') return 'waits';
        const job = await jobs.findOne({
          where: { tenantId, id: oldest.id, status: 'queued' },
          lock: { mode: 'pessimistic_write' },
        });
        if (!job) return 'waits'; // cancelled meanwhile: the next round takes the next one
        const [tenant] = (await manager.query(
          `SELECT status, compliance_profile FROM tenants WHERE id = $1`,
          [tenantId],
        )) as { status: string; compliance_profile: Partial<ComplianceProfile> | null }[];
        if (tenant?.status === 'suspended') return 'waits';
        if (!tenant || tenant.status === 'offboarded') {
          await this.fail(job, {
            code: 'tenant_offboarded',
            message: 'The tenant is offboarded; its jobs do not run.',
            param: null,
          });
          return 'failed';
        }
        // The profile may have changed since the job was created: the rule holds at admission.
        const [model] = (await manager.query(
          `SELECT id, family, fine_tunable AS "fineTunable", tenant_id AS "tenantId"
             FROM catalog_models WHERE id = $1`,
          [job.model],
        )) as TrainingTarget[];
        const refusal = model
          ? trainingRefusal(storedProfile(tenant.compliance_profile), model)
          : 'model_not_fine_tunable';
        if (refusal) {
          await this.fail(job, {
            code: refusal,
            message:
              refusal === 'model_family_not_allowed'
                ? `The compliance profile no longer allows the "${model.family}" model family.`
                : `${job.model} can no longer be fine-tuned.`,
            param: 'model',
          });
          return 'failed';
        }

        const slot = await this.reservations.reserve({
          tenantId,
          metric: 'concurrent_fine_tuning_jobs',
          quantity: 1,
          eventId: slotEventId(job.id),
        });
        if (!slot.granted) {
          if (slot.reason === 'no_contract_in_force') {
            await this.fail(job, {
              code: 'no_contract_in_force',
              message: 'The tenant has no contract in force.',
              param: null,
            });
            return 'failed';
          }
          return 'waits'; // at its cap (or quota state unavailable): try again later
        }
        const tokens = await this.reservations.reserve({
          tenantId,
          metric: 'training_tokens',
          quantity: Math.max(1, job.estimatedTokens),
          ttlMs: this.config.FINE_TUNING_RESERVATION_TTL_MS,
          eventId: trainingEventId(job.id),
        });
        if (!tokens.granted) {
          await this.release([slot.reservationId]);
          if (tokens.reason === 'quota_exceeded' || tokens.reason === 'no_contract_in_force') {
            await this.fail(job, refusalError(tokens, job.estimatedTokens));
            return 'failed';
          }
          return 'waits';
        }
        holds = [slot.reservationId, tokens.reservationId];
        await transitionJob(manager, this.audit, job, 'admit', {
          changes: {
            startedAt: new Date(),
            trainingReservationId: tokens.reservationId,
            slotEventId: slotEventId(job.id),
          },
          message: 'Fine-tuning job started',
        });
        await manager.query(
          `INSERT INTO fine_tuning_tenant_admissions (tenant_id, last_admitted_at)
           VALUES ($1, clock_timestamp())
           ON CONFLICT (tenant_id) DO UPDATE SET last_admitted_at = excluded.last_admitted_at`,
          [tenantId],
        );
        admittedJob = job;
        return 'admitted';
      })
      .catch(async (error: unknown) => {
        await this.release(holds);
        this.logger.warn({ err: error, tenantId }, 'admitting a fine-tuning job failed');
        return 'waits' as const;
      });
    if (admittedJob) {
      const [slot] = holds;
      await this.reservations
        .commit(slot, 1, { fineTuningJobId: admittedJob.id })
        .catch((error: unknown) =>
          // The runner records the same event (same id) when the job finishes.
          this.logger.warn({ err: error, job: admittedJob!.id }, 'slot usage commit failed'),
        );
      await this.queue.train(tenantId, admittedJob.id);
    }
    return outcome;
  }

  private async fail(job: FineTuningJob, error: JobError): Promise<void> {
    await transitionJob(this.db.manager, this.audit, job, 'fail', {
      changes: { error, finishedAt: new Date(), usageSettled: true },
      message: error.message,
      reason: error.code,
      level: 'error',
    });
  }

  private async release(reservationIds: string[]): Promise<void> {
    for (const id of reservationIds) {
      await this.reservations
        .release(id)
        .catch((error: unknown) =>
          this.logger.warn({ err: error }, 'releasing a fine-tuning hold failed'),
        );
    }
  }
}

function refusalError(refused: Reservation & { granted: false }, tokens: number): JobError {
  if (refused.reason === 'no_contract_in_force') {
    return {
      code: 'no_contract_in_force',
      message: 'The tenant has no contract in force.',
      param: null,
    };
  }
  return {
    code: 'quota_exceeded',
    message: `The job would train on ${tokens} tokens; the ${refused.line?.period ?? ''} training_tokens line has ${refused.line?.remaining ?? 0} left.`,
    param: 'training_file',
  };
}
