import { asTenantId, TenantDb } from '@app/authz';
import { randomUUID } from 'node:crypto';
import type { TestApp } from './test-app';

/**
 * Writes usage events straight into the ledger table (the metering issue adds the ingestion
 * API), in the tenant's scope so row-level security checks them as for any write.
 */
export async function recordUsage(
  t: TestApp,
  tenantId: string,
  events: { metric: string; quantity: number; occurredAt: string | Date }[],
): Promise<void> {
  await t.app.get(TenantDb).inTenant(asTenantId(tenantId), async (manager) => {
    for (const event of events) {
      await manager.query(
        `INSERT INTO usage_events (tenant_id, id, metric, quantity, occurred_at)
         VALUES ($1, $2, $3, $4, $5)`,
        [tenantId, randomUUID(), event.metric, event.quantity, new Date(event.occurredAt)],
      );
    }
  });
}
