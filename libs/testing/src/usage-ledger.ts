import { asTenantId, TenantDb } from '@app/authz';
import { UsageIngestionService } from '@app/metering';
import { randomUUID } from 'node:crypto';
import type { TestApp } from './test-app';

/**
 * Records usage events through the metering library's real ingestion (ledger, hourly rollup and
 * Redis counters), in the tenant's scope, as another library of the app would.
 *
 * @throws when an event is rejected (the test wrote a bad one)
 */
export async function recordUsage(
  t: TestApp,
  tenantId: string,
  events: {
    metric: string;
    quantity: number;
    occurredAt: string | Date;
    id?: string;
    endpointId?: string;
    apiKeyId?: string;
  }[],
): Promise<void> {
  const db = t.app.get(TenantDb);
  const ingestion = t.app.get(UsageIngestionService);
  await db.run({ kind: 'tenant', tenantId: asTenantId(tenantId) }, async () => {
    const result = await ingestion.record(
      events.map(({ occurredAt, id, ...event }) => ({
        id: id ?? randomUUID(),
        tenantId,
        occurredAt: new Date(occurredAt).toISOString(),
        ...event,
      })),
    );
    if (result.rejected.length > 0) {
      throw new Error(`usage rejected: ${JSON.stringify(result.rejected)}`);
    }
  });
}
