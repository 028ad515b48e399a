import { TenantDb, TenantId } from '@app/authz';
import { UsageReader, UsageWindow } from '@app/tenancy';
import { Injectable } from '@nestjs/common';

/**
 * Reads the usage ledger (`usage_events`, partitioned by month) inside the caller's scoped
 * transaction, so row-level security applies. One round trip answers every window.
 */
@Injectable()
export class UsageLedgerService implements UsageReader {
  constructor(private readonly db: TenantDb) {}

  async usedIn(tenantId: TenantId, windows: readonly UsageWindow[]): Promise<bigint[]> {
    if (windows.length === 0) return [];
    const rows: { used: string }[] = await this.db.manager.query(
      `SELECT coalesce(sum(e.quantity), 0)::text AS used
         FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY
              AS w(metric, from_at, to_at, i)
         LEFT JOIN usage_events e
           ON e.tenant_id = $1 AND e.metric = w.metric
          AND e.occurred_at >= coalesce(w.from_at, '-infinity') AND e.occurred_at < w.to_at
        GROUP BY w.i ORDER BY w.i`,
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
