import type { DataSource } from 'typeorm';
import { IDEMPOTENCY_PURGE_BATCH } from './idempotency.constants';

/**
 * Deletes expired idempotency keys of every tenant, `batchSize` rows per transaction, until none
 * is left. Platform-wide system work: each batch's transaction sets the explicit RLS bypass
 * (`app.bypass_rls`, transaction-local). Rows locked by a request that is reusing an expired key
 * right now are skipped (`SKIP LOCKED`); a later run takes them. Idempotent: running it twice
 * deletes nothing more.
 *
 * @returns how many rows were deleted.
 */
export async function purgeExpiredIdempotencyKeys(
  dataSource: DataSource,
  batchSize = IDEMPOTENCY_PURGE_BATCH,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await dataSource.transaction(async (manager) => {
      await manager.query(`SELECT set_config('app.bypass_rls', 'on', true)`);
      const [{ n }] = await manager.query<{ n: number }[]>(
        `WITH doomed AS (
           SELECT actor_type, actor_id, key FROM idempotency_keys
            WHERE expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
         ), gone AS (
           DELETE FROM idempotency_keys k USING doomed d
            WHERE k.actor_type = d.actor_type AND k.actor_id = d.actor_id AND k.key = d.key
           RETURNING 1
         )
         SELECT count(*)::int AS n FROM gone`,
        [batchSize],
      );
      return n;
    });
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
