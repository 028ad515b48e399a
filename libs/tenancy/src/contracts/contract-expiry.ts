import { AuditService } from '@app/audit';
import { asTenantId, TenantDb } from '@app/authz';
import { AppConfig, InjectConfig, RepeatableJobs, Traced, runInJobTrace } from '@app/core';
import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';

/** Queue and job names of the tenancy library (STYLE.md: in one place). */
export const TENANCY_QUEUE = 'tenancy';
export const CONTRACT_EXPIRY_JOB = 'contracts.expire';

export interface TenancyJobs {
  /** Platform-wide maintenance: it visits each tenant in that tenant's own scope. */
  [CONTRACT_EXPIRY_JOB]: { scheduledBy: string };
}

/**
 * Moves active contracts whose time in force has ended to `expired` (the `expire` transition of
 * CONTRACT_TRANSITIONS), each in its tenant's scope with its `contract.expire` audit event by the
 * system actor in the same transaction. Reads already report such contracts as expired; this
 * makes the stored status and the audit trail say so. Idempotent: a contract is expired once.
 */
@Injectable()
export class ContractExpiryService {
  constructor(
    private readonly db: TenantDb,
    private readonly audit: AuditService,
  ) {}

  /** @returns the ids of the contracts expired in this run (at most 500) */
  async expireDue(): Promise<string[]> {
    const due: { id: string; tenant_id: string }[] = await this.db.asPlatform(
      'contract expiry: find active contracts past their end',
      (manager) =>
        manager.query(
          `SELECT id, tenant_id FROM contracts
            WHERE status = 'active' AND ends_at <= now() ORDER BY ends_at LIMIT 500`,
        ),
    );
    const expired: string[] = [];
    for (const row of due) {
      const done = await this.db.inTenant(asTenantId(row.tenant_id), async (manager) => {
        const updated: { contract_number: string }[] = await manager.query(
          `UPDATE contracts SET status = 'expired', updated_at = now()
            WHERE id = $1 AND tenant_id = $2 AND status = 'active' AND ends_at <= now()
            RETURNING contract_number`,
          [row.id, row.tenant_id],
        );
        if (updated.length === 0) return false;
        await this.audit.append(manager, {
          tenantId: row.tenant_id,
          actor: { type: 'system', id: 'contract-expiry' },
          action: 'contract.expire',
          resource: { type: 'contract', id: row.id },
          outcome: 'success',
          reason: `contract ${updated[0].contract_number} reached the end of its term`,
          changes: { before: { status: 'active' }, after: { status: 'expired' } },
        });
        return true;
      });
      if (done) expired.push(row.id);
    }
    return expired;
  }
}

@Processor(TENANCY_QUEUE)
export class ContractExpiryProcessor extends WorkerHost {
  private readonly logger = new Logger('ContractExpiryProcessor');

  constructor(private readonly expiry: ContractExpiryService) {
    super();
  }

  async process(
    job: Job<Traced<TenancyJobs[typeof CONTRACT_EXPIRY_JOB]>>,
  ): Promise<{ expired: number }> {
    return runInJobTrace(job, async () => {
      const expired = await this.expiry.expireDue();
      if (expired.length) this.logger.log({ expired: expired.length }, 'contracts expired');
      return { expired: expired.length };
    });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn({ jobId: job?.id, err: error }, 'contract expiry failed');
  }
}

/** Registers the repeatable expiry job (every CONTRACT_EXPIRY_INTERVAL_MS, one for all workers). */
@Injectable()
export class ContractExpiryScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(TENANCY_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
    private readonly jobs: RepeatableJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(
      this.queue,
      'contract-expiry',
      this.config.CONTRACT_EXPIRY_INTERVAL_MS,
      CONTRACT_EXPIRY_JOB,
    );
  }
}
