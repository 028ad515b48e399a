import { TenantDb, TenantId } from '@app/authz';
import { UsageReader, UsageWindow } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

/**
 * Reads the usage ledger inside the caller's scoped transaction, so row-level security applies.
 * A window's sum is exact for any boundaries: its whole UTC hours come from the hourly rollup
 * (`usage_hourly`, maintained in the ingesting transaction) and its partial first and last hours
 * from the ledger itself (`usage_events`, partitioned by month), as two index ranges. One round
 * trip answers every window.
 */
@Injectable()
export class UsageLedgerService implements UsageReader {
  constructor(private readonly db: TenantDb) {}

  async usedIn(tenantId: TenantId, windows: readonly UsageWindow[]): Promise<bigint[]> {
    if (windows.length === 0) return [];
    const rows: { used: string }[] = await this.db.manager.query(
      `WITH w AS (
         SELECT i, metric, from_at, to_at,
                -- whole hours [full_from, full_to): the first hour boundary at or after from_at,
                -- the last at or before to_at
                CASE WHEN date_trunc('hour', from_at, 'UTC') = from_at THEN from_at
                     ELSE date_trunc('hour', from_at, 'UTC') + interval '1 hour' END AS full_from,
                date_trunc('hour', to_at, 'UTC') AS full_to
           FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY
                AS u(metric, from_at, to_at, i)
       ), bounded AS (
         SELECT i, metric, coalesce(from_at, '-infinity') AS from_at, to_at,
                coalesce(full_from, '-infinity') AS full_from, full_to FROM w
       )
       SELECT (
           coalesce((SELECT sum(h.quantity) FROM usage_hourly h
                      WHERE h.tenant_id = $1 AND h.metric = b.metric
                        AND h.hour >= b.full_from AND h.hour < b.full_to), 0)
         + coalesce((SELECT sum(e.quantity) FROM usage_events e
                      WHERE e.tenant_id = $1 AND e.metric = b.metric
                        AND e.occurred_at >= b.from_at AND e.occurred_at < b.head_end), 0)
         + coalesce((SELECT sum(e.quantity) FROM usage_events e
                      WHERE e.tenant_id = $1 AND e.metric = b.metric
                        AND e.occurred_at >= greatest(b.full_to, b.head_end)
                        AND e.occurred_at < b.to_at), 0)
         )::text AS used
         FROM (SELECT *, least(full_from, to_at) AS head_end FROM bounded) b ORDER BY b.i`,
      [
        tenantId,
        windows.map((w) => w.metric),
        windows.map((w) => w.from),
        windows.map((w) => w.to),
      ],
    );
    return rows.map((row) => BigInt(row.used));
  }
}
