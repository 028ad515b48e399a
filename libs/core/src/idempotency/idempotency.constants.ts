/** Queue and job names of idempotency-key upkeep, in one place (STYLE.md). */
export const IDEMPOTENCY_QUEUE = 'idempotency';
export const IDEMPOTENCY_PURGE_JOB = 'purge-expired';
/** How often the worker deletes expired idempotency keys. */
export const IDEMPOTENCY_PURGE_EVERY_MS = 60 * 60 * 1000;
/** Rows deleted per transaction, so a purge never holds many locks or a long transaction. */
export const IDEMPOTENCY_PURGE_BATCH = 1000;

export interface IdempotencyJobs {
  [IDEMPOTENCY_PURGE_JOB]: { scheduledBy: string };
}
