import { TenantDb } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { Injectable } from '@nestjs/common';
import { bucketSql } from '../histogram/latency-histogram';

/** Raw samples and probe results are kept this long after they were written, ms (7 days). */
export const RAW_RETENTION_MS = 7 * 24 * 3_600_000;
/** The first rollup (no state yet) takes rows written this far back, ms (one day). */
const FIRST_ROLLUP_LOOKBACK_MS = 24 * 3_600_000;
/**
 * Each run also takes rows written this long before the previous run's start, ms: a row is
 * stamped when its transaction starts and may commit after a rollup that began later.
 */
const COMMIT_MARGIN_MS = 10_000;

/** SQL: the start of the SLA minute of `column` for a minute of `$1` ms. */
const minuteOf = (column: string) =>
  `(timestamptz 'epoch' + floor(extract(epoch FROM ${column}) * 1000 / $1) * $1 * interval '1 millisecond')`;

/** SQL: the minutes that received `table` rows written in [$2, $3), with all their rows. */
const touched = (table: string, time: string, columns: string) => `
  touched AS (
    SELECT DISTINCT tenant_id, endpoint_id, ${minuteOf(time)} AS minute
      FROM ${table} WHERE recorded_at >= $2 AND recorded_at < $3
  ), raw AS (
    SELECT t.tenant_id, t.endpoint_id, t.minute, ${columns}
      FROM touched t JOIN ${table} r
        ON r.tenant_id = t.tenant_id AND r.endpoint_id = t.endpoint_id
       AND r.${time} >= t.minute AND r.${time} < t.minute + $1 * interval '1 millisecond'
  )`;

/**
 * SQL, after a `written` CTE of the minutes just (re)written: marks, per tenant, the earliest of
 * them that its incident evaluation had already passed (`sla_evaluation_state.late_from`), for
 * the next evaluation to look at again. Evaluations and rollups never run at once (the rollup
 * holds the `sla_rollup` advisory lock exclusively, each evaluation shared), so this sees where
 * every evaluation stopped, and every evaluation sees every minute a rollup committed.
 */
const MARK_LATE = `
  UPDATE sla_evaluation_state s
     SET late_from = least(coalesce(s.late_from, w.minute), w.minute)
    FROM (SELECT tenant_id, min(minute) AS minute FROM written GROUP BY tenant_id) w
   WHERE s.tenant_id = w.tenant_id AND w.minute < s.evaluated_to`;

/**
 * Rolls the raw signals up per endpoint per SLA minute into `sla_minutes`: the gateway's
 * `inference_samples` (requests, errors = status ≥ 500, which includes the gateway's 504
 * timeouts; histograms of time to first byte and total time) and `sla_probe_results` (probes,
 * failures, latency histogram of passing probes, the last failure's reason).
 *
 * Each run finds the minutes that received rows written since the previous run (by
 * `recorded_at`, so a long stream's sample, written when it ends, still reaches the minute it
 * started in) and recomputes each of those minutes from all of its raw rows, replacing its
 * figures (never adding to them): running twice, or concurrently in two workers, counts nothing
 * twice. A minute written after the tenant's incident evaluation passed it is marked for that
 * evaluation to look at again (see {@link MARK_LATE}). Raw rows written more than
 * {@link RAW_RETENTION_MS} ago are then removed.
 */
@Injectable()
export class SlaRollupService {
  constructor(
    private readonly db: TenantDb,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** @returns the span of writing times rolled up, [from, to) (database time) */
  async rollup(): Promise<{ from: Date; to: Date }> {
    const m = this.config.SLA_MINUTE_MS;
    return this.db.asPlatform(
      'sla: roll up samples and probes of every tenant',
      async (manager) => {
        // One rollup at a time (workers that race would only redo the same minutes).
        await manager.query(`SELECT pg_advisory_xact_lock(hashtext('sla_rollup'))`);
        const [{ now: to }]: { now: Date }[] = await manager.query(`SELECT now() AS now`);
        const [state]: { rolled_up_to: Date }[] = await manager.query(
          `SELECT rolled_up_to FROM sla_rollup_state`,
        );
        const from = new Date(
          state
            ? Math.min(state.rolled_up_to.getTime(), to.getTime()) - COMMIT_MARGIN_MS
            : to.getTime() - FIRST_ROLLUP_LOOKBACK_MS,
        );
        await manager.query(
          `WITH ${touched('inference_samples', 'started_at', 'r.status, r.ttfb_ms, r.total_ms')},
         counts AS (
           SELECT tenant_id, endpoint_id, minute, count(*)::int AS requests,
                  (count(*) FILTER (WHERE status >= 500))::int AS errors
             FROM raw GROUP BY 1, 2, 3
         ), ttfb AS (
           SELECT tenant_id, endpoint_id, minute, jsonb_object_agg(b, n) AS h FROM (
             SELECT tenant_id, endpoint_id, minute, ${bucketSql('ttfb_ms')} AS b, count(*) AS n
               FROM raw WHERE ttfb_ms IS NOT NULL GROUP BY 1, 2, 3, 4) x GROUP BY 1, 2, 3
         ), total AS (
           SELECT tenant_id, endpoint_id, minute, jsonb_object_agg(b, n) AS h FROM (
             SELECT tenant_id, endpoint_id, minute, ${bucketSql('total_ms')} AS b, count(*) AS n
               FROM raw GROUP BY 1, 2, 3, 4) x GROUP BY 1, 2, 3
         ), written AS (
         INSERT INTO sla_minutes AS m (tenant_id, endpoint_id, minute, requests, errors, ttfb_hist, total_hist)
         SELECT c.tenant_id, c.endpoint_id, c.minute, c.requests, c.errors,
                coalesce(t.h, '{}'), coalesce(u.h, '{}')
           FROM counts c
           LEFT JOIN ttfb t USING (tenant_id, endpoint_id, minute)
           LEFT JOIN total u USING (tenant_id, endpoint_id, minute)
         ON CONFLICT (tenant_id, endpoint_id, minute) DO UPDATE SET requests = EXCLUDED.requests,
           errors = EXCLUDED.errors, ttfb_hist = EXCLUDED.ttfb_hist, total_hist = EXCLUDED.total_hist
         RETURNING tenant_id, minute
         ) ${MARK_LATE}`,
          [m, from, to],
        );
        await manager.query(
          `WITH ${touched('sla_probe_results', 'probed_at', 'r.probed_at, r.ok, r.latency_ms, r.error')},
         counts AS (
           SELECT tenant_id, endpoint_id, minute, count(*)::int AS probes,
                  (count(*) FILTER (WHERE NOT ok))::int AS failures,
                  (array_agg(error ORDER BY probed_at DESC) FILTER (WHERE NOT ok))[1] AS error
             FROM raw GROUP BY 1, 2, 3
         ), hist AS (
           SELECT tenant_id, endpoint_id, minute, jsonb_object_agg(b, n) AS h FROM (
             SELECT tenant_id, endpoint_id, minute, ${bucketSql('latency_ms')} AS b, count(*) AS n
               FROM raw WHERE ok GROUP BY 1, 2, 3, 4) x GROUP BY 1, 2, 3
         ), written AS (
         INSERT INTO sla_minutes AS m (tenant_id, endpoint_id, minute, probes, probe_failures, probe_hist, probe_error)
         SELECT c.tenant_id, c.endpoint_id, c.minute, c.probes, c.failures, coalesce(h.h, '{}'), c.error
           FROM counts c LEFT JOIN hist h USING (tenant_id, endpoint_id, minute)
         ON CONFLICT (tenant_id, endpoint_id, minute) DO UPDATE SET probes = EXCLUDED.probes,
           probe_failures = EXCLUDED.probe_failures, probe_hist = EXCLUDED.probe_hist,
           probe_error = EXCLUDED.probe_error
         RETURNING tenant_id, minute
         ) ${MARK_LATE}`,
          [m, from, to],
        );
        await manager.query(
          `INSERT INTO sla_rollup_state (id, rolled_up_to) VALUES (true, $1)
         ON CONFLICT (id) DO UPDATE SET rolled_up_to = greatest(sla_rollup_state.rolled_up_to, $1)`,
          [to],
        );
        const horizon = new Date(to.getTime() - RAW_RETENTION_MS);
        await manager.query(`DELETE FROM sla_probe_results WHERE recorded_at < $1`, [horizon]);
        await manager.query(`DELETE FROM inference_samples WHERE recorded_at < $1`, [horizon]);
        return { from, to };
      },
    );
  }
}
