import { asTenantId, TenantDb, TenantId } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { TenantService } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { Interval, monthOf, monthWindow } from '../availability/availability';
import { SlaClock } from '../sla-clock';
import { SlaMetrics } from '../sla-metrics';

const DAY_MS = 86_400_000;
/** Minute rows one statement deletes at most (each batch is a transaction of its own). */
export const SLA_MINUTES_PRUNE_BATCH = 5_000;
/** How long one run deletes before it leaves the rest to the next run, ms. */
export const SLA_MINUTES_PRUNE_BUDGET_MS = 30_000;

/** What one retention run did. */
export interface SlaMinutesPruneResult {
  /** Minute rows deleted. */
  deleted: number;
  /** Tenants that had rows deleted. */
  tenants: number;
  /** False when the time budget ran out (or a tenant failed) and rows may be left for next time. */
  complete: boolean;
}

/**
 * Retention of `sla_minutes` (README, "SLA"): deletes a minute row once it is older than
 * SLA_MINUTES_RETENTION_DAYS, but only when
 *
 * - the month that contains it, in the tenant's billing time zone (the window a report of that
 *   month reads, {@link monthWindow}), is **frozen**: a frozen month is served from `sla_reports`
 *   and never recomputed, so it answers the same without its minutes, while a month that is not
 *   frozen is computed from them and keeps every one; and
 * - it is before the start of every incident of the tenant that is **open or ended less than the
 *   retention ago**: the evaluation counts an incident's bad minutes again from its start when
 *   late minutes amend it.
 *
 * Deletes run in the tenant's scope (the rows are under row-level security), in batches of
 * {@link SLA_MINUTES_PRUNE_BATCH} rows, each one statement sent with its transaction in one round
 * trip ({@link TenantDb.oneShot}), so no lock outlives a batch. Rows another run holds are
 * skipped (`SKIP LOCKED`), so two runs at once neither wait on nor count each other's rows;
 * running again deletes nothing more.
 */
@Injectable()
export class SlaMinutesRetentionService {
  private readonly logger = new Logger('SlaMinutesRetention');

  constructor(
    private readonly db: TenantDb,
    private readonly tenants: TenantService,
    private readonly clock: SlaClock,
    private readonly metrics: SlaMetrics,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * One retention run over every tenant with a frozen month before the cutoff, until done or
   * `budgetMs` has passed. A tenant that fails is logged and left for the next run.
   */
  async prune({
    batchSize = SLA_MINUTES_PRUNE_BATCH,
    budgetMs = SLA_MINUTES_PRUNE_BUDGET_MS,
  }: { batchSize?: number; budgetMs?: number } = {}): Promise<SlaMinutesPruneResult> {
    const deadline = Date.now() + budgetMs;
    const cutoff = new Date(
      this.clock.now().getTime() - this.config.SLA_MINUTES_RETENTION_DAYS * DAY_MS,
    );
    // A local month starts within 14 hours of its UTC one: later months cannot start before the
    // cutoff, and the windows computed below drop those that do not.
    const lastMonth = monthOf(new Date(cutoff.getTime() + DAY_MS), 'UTC');
    const frozen: { tenant_id: string; months: string[] }[] = await this.db.asPlatform(
      'sla: frozen months past the minutes retention',
      (manager) =>
        manager.query(
          `SELECT tenant_id, array_agg(month ORDER BY month) AS months FROM sla_reports
            WHERE month <= $1 GROUP BY tenant_id`,
          [lastMonth],
        ),
    );
    const result: SlaMinutesPruneResult = { deleted: 0, tenants: 0, complete: true };
    const outOfTime = () => Date.now() >= deadline;
    for (const row of frozen) {
      if (outOfTime()) break;
      const tenantId = asTenantId(row.tenant_id);
      let deleted = 0;
      try {
        for (const range of await this.prunable(tenantId, row.months, cutoff)) {
          let n: number;
          do {
            n = await this.deleteBatch(tenantId, range, batchSize);
            deleted += n;
          } while (n === batchSize && !outOfTime());
          if (outOfTime()) break;
        }
      } catch (error) {
        result.complete = false;
        this.logger.warn({ tenantId, err: error }, 'SLA minutes retention failed for a tenant');
      }
      if (deleted > 0) {
        result.tenants += 1;
        result.deleted += deleted;
        this.metrics.minutesPruned.inc(deleted);
      }
    }
    if (outOfTime()) result.complete = false;
    return result;
  }

  /**
   * The spans of the tenant's minutes that may go: its frozen months' windows (in its billing
   * time zone), cut at the retention cutoff and at the start of its open or recent incidents.
   */
  private prunable(tenantId: TenantId, months: string[], cutoff: Date): Promise<Interval[]> {
    return this.db.run({ kind: 'tenant', tenantId }, async () => {
      const { billingTimeZone } = await this.tenants.get(tenantId);
      const [kept]: { kept_from: Date | null }[] = await this.db.manager.query(
        `SELECT min(started_at) AS kept_from FROM sla_incidents
          WHERE tenant_id = $1 AND (status = 'open' OR ended_at >= $2)`,
        [tenantId, cutoff],
      );
      const horizon = Math.min(cutoff.getTime(), kept.kept_from?.getTime() ?? Infinity);
      const spans: Interval[] = [];
      for (const month of months) {
        const window = monthWindow(month, billingTimeZone);
        const span = {
          start: window.start.getTime(),
          end: Math.min(window.end.getTime(), horizon),
        };
        if (span.start >= span.end) continue;
        const last = spans.at(-1);
        // Consecutive frozen months make one span (one index range to walk).
        if (last && last.end === span.start) last.end = span.end;
        else spans.push(span);
      }
      return spans;
    });
  }

  /** Deletes up to `limit` of the tenant's minute rows in `range`. @returns how many */
  private async deleteBatch(tenantId: TenantId, range: Interval, limit: number): Promise<number> {
    const [[{ n }]] = await this.db.oneShot<{ n: number }>({ kind: 'tenant', tenantId }, [
      {
        sql: `WITH doomed AS (
                SELECT endpoint_id, minute FROM sla_minutes
                 WHERE tenant_id = $1 AND minute >= $2::timestamptz AND minute < $3::timestamptz
                 LIMIT $4 FOR UPDATE SKIP LOCKED
              ), gone AS (
                DELETE FROM sla_minutes m USING doomed d
                 WHERE m.tenant_id = $1 AND m.endpoint_id = d.endpoint_id AND m.minute = d.minute
                RETURNING 1
              )
              SELECT count(*)::int AS n FROM gone`,
        params: [tenantId, new Date(range.start), new Date(range.end), limit],
      },
    ]);
    return n;
  }
}
