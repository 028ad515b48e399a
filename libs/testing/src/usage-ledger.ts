import { asTenantId, TenantDb } from '@app/authz';
import { UsageIngestionService } from '@app/metering';
import { randomUUID } from 'node:crypto';
import { bearer, platformAdminKey } from './tenant-session';
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

/**
 * The sum of a metric in a tenant's usage ledger over the last day (and the next hour), read as
 * the platform admin through `GET /v1/tenants/{id}/usage`: what the API reports, not a query of
 * our own.
 */
export async function ledgerSum(t: TestApp, tenantId: string, metric: string): Promise<number> {
  const from = new Date(Date.now() - 86_400_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const res = await t.http
    .get(`/v1/tenants/${tenantId}/usage`)
    .query({ metric, from, to })
    .set(bearer(platformAdminKey()));
  if (res.status !== 200) throw new Error(`usage answered ${res.status}`);
  return (res.body.data as { quantity: number }[]).reduce((sum, row) => sum + row.quantity, 0);
}
