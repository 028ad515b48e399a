import { AuditService } from '@app/audit';
import type { EntityManager } from 'typeorm';
import { FineTuningJob, FineTuningJobEvent } from './fine-tuning-job.entity';
import { JobEvent, jobTransition } from './job-lifecycle';

/** The actor of what the admission scheduler and the runner do, in audit events. */
export const FINE_TUNING_ACTOR = { type: 'system', id: 'fine-tuning' } as const;

/** A job event to record; `key` is unique per job (a repeat adds nothing). */
export type NewJobEvent = Pick<FineTuningJobEvent, 'key' | 'message'> &
  Partial<Pick<FineTuningJobEvent, 'level' | 'type' | 'data'>>;

/** Appends events to a job's history, skipping keys it already holds (re-run steps). */
export async function recordJobEvents(
  manager: EntityManager,
  job: Pick<FineTuningJob, 'tenantId' | 'id'>,
  events: readonly NewJobEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await manager.query(
    `INSERT INTO fine_tuning_job_events (tenant_id, job_id, key, level, type, message, data)
     SELECT $1, $2, e.key, e.level, e.type, e.message, e.data
       FROM jsonb_to_recordset($3::jsonb)
            AS e(key text, level text, type text, message text, data jsonb)
     ON CONFLICT (job_id, key) DO NOTHING`,
    [
      job.tenantId,
      job.id,
      JSON.stringify(
        events.map((e) => ({
          key: e.key,
          level: e.level ?? 'info',
          type: e.type ?? 'message',
          message: e.message,
          data: e.data ?? null,
        })),
      ),
    ],
  );
}

/**
 * Moves a locked job along the lifecycle table, with its status event and an audit event in the
 * caller's transaction. Returns false (changing nothing) when the status does not allow `event`.
 *
 * @param changes further columns to set with the status
 */
export async function transitionJob(
  manager: EntityManager,
  audit: AuditService,
  job: FineTuningJob,
  event: JobEvent,
  {
    changes = {},
    message,
    reason,
    level = 'info',
    actor,
  }: {
    changes?: Partial<FineTuningJob>;
    message: string;
    reason?: string;
    level?: 'info' | 'warn' | 'error';
    actor?: Parameters<AuditService['append']>[1]['actor'];
  },
): Promise<boolean> {
  const to = jobTransition(job.status, event);
  if (!to) return false;
  const from = job.status;
  await manager
    .getRepository(FineTuningJob)
    .update({ tenantId: job.tenantId, id: job.id }, { ...changes, status: to });
  Object.assign(job, changes, { status: to });
  await recordJobEvents(manager, job, [
    { key: `status:${to}`, level, message, data: { status: to, ...(reason ? { reason } : {}) } },
  ]);
  await audit.append(manager, {
    tenantId: job.tenantId,
    actor: actor ?? FINE_TUNING_ACTOR,
    action: `fine_tuning_job.${to}`,
    resource: { type: 'fine_tuning_job', id: job.id },
    outcome: 'success',
    ...(reason ? { reason } : {}),
    changes: { before: { status: from }, after: { status: to } },
  });
  return true;
}

/** `ft:{base}:{tenant slug}:{suffix}:{job id}` (OpenAI's naming; an empty suffix stays empty). */
export function fineTunedModelName(
  job: Pick<FineTuningJob, 'model' | 'suffix' | 'id'>,
  tenantSlug: string,
): string {
  return `ft:${job.model}:${tenantSlug}:${job.suffix ?? ''}:${job.id}`;
}
