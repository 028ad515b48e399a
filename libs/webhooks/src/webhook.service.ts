import { asTenantId, TenantDb, TenantId } from '@app/authz';
import { Injectable } from '@nestjs/common';
import { WebhookDispatchKick } from './delivery/dispatch-kick';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from './webhooks.constants';

/** Largest `data` of one event, serialized (bytes of JSON). */
export const MAX_WEBHOOK_DATA_BYTES = 256 * 1024;

/**
 * Queues webhook events for a tenant's endpoints. Other libraries call it (metering's quota
 * alerts, the SLA library's burn-rate alerts) inside their own scoped transaction.
 */
@Injectable()
export class WebhookService {
  constructor(
    private readonly db: TenantDb,
    private readonly kick: WebhookDispatchKick,
  ) {}

  /**
   * Queue `type` with `data` for every enabled endpoint of `tenantId` subscribed to `type`, as rows
   * of the delivery outbox written in the CURRENT TenantDb transaction (this.db.manager), so the
   * alert and its deliveries commit or roll back together. Returns the delivery ids.
   *
   * Each delivery is POSTed by the worker as `{"id", "type", "createdAt", "tenantId", "data"}`
   * (`id` = the delivery id), signed per Standard Webhooks, and retried with backoff until a 2xx
   * or WEBHOOK_MAX_ATTEMPTS. The first attempt is queued when the transaction commits.
   *
   * @param tenantId the tenant whose endpoints receive it; the current transaction must be that
   *   tenant's scope or the platform scope
   * @param data a JSON object (bigint values are written as exact JSON numbers, Dates as ISO
   *   8601 strings), at most 256 KiB serialized
   * @returns the new deliveries' ids, one per endpoint (empty when no endpoint is subscribed)
   * @throws NoTenantScopeError outside a scoped transaction
   * @throws Error for a malformed tenant id, a tenant other than the transaction's, an unknown
   *   event type, or `data` that is not a JSON object or is too large (programming errors)
   */
  async enqueue(
    tenantId: string,
    type: WebhookEventType,
    data: Record<string, unknown>,
  ): Promise<string[]> {
    const tenant = asTenantId(tenantId);
    const manager = this.db.manager;
    const scope = this.db.scope;
    if (scope?.kind === 'tenant' && scope.tenantId.toLowerCase() !== tenant) {
      throw new Error(
        `webhook events of tenant ${tenant} enqueued in another tenant's transaction`,
      );
    }
    if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) {
      throw new Error(`unknown webhook event type ${String(type)}`);
    }
    const rows: { id: string }[] = await manager.query(
      `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_type, payload)
       SELECT e.tenant_id, e.id, $2, $3::jsonb FROM webhook_endpoints e
        WHERE e.tenant_id = $1 AND e.status = 'enabled' AND $2 = ANY (e.event_types)
        ORDER BY e.created_at, e.id
       RETURNING id`,
      [tenant, type, eventDataJson(data)],
    );
    if (rows.length) this.kick.afterCommit(tenant);
    return rows.map((row) => row.id);
  }

  /**
   * Queues `type` for one endpoint whatever its subscriptions (test deliveries), in the current
   * transaction. The caller has checked that the endpoint exists and is enabled.
   */
  async enqueueForEndpoint(
    tenantId: TenantId,
    endpointId: string,
    type: WebhookEventType,
    data: Record<string, unknown>,
  ): Promise<string> {
    const manager = this.db.manager;
    const [row]: { id: string }[] = await manager.query(
      `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_type, payload)
       VALUES ($1, $2, $3, $4::jsonb) RETURNING id`,
      [tenantId, endpointId, type, eventDataJson(data)],
    );
    this.kick.afterCommit(tenantId);
    return row.id;
  }
}

/**
 * `data` as JSON text. bigint values become exact JSON numbers (tokens may pass 2^53, DESIGN.md),
 * which `JSON.stringify` cannot write.
 *
 * @throws Error unless `data` is a plain object within MAX_WEBHOOK_DATA_BYTES
 */
export function eventDataJson(data: Record<string, unknown>): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error('webhook event data must be a JSON object');
  }
  const json = toJson(data, 0);
  if (Buffer.byteLength(json) > MAX_WEBHOOK_DATA_BYTES) {
    throw new Error(`webhook event data is over ${MAX_WEBHOOK_DATA_BYTES} bytes`);
  }
  return json;
}

function toJson(value: unknown, depth: number): string {
  if (depth > 32) throw new Error('webhook event data nests too deeply');
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value))
    return `[${value.map((item) => toJson(item ?? null, depth + 1)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value).filter(([, item]) => item !== undefined);
    return `{${fields.map(([key, item]) => `${JSON.stringify(key)}:${toJson(item, depth + 1)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error('webhook event data holds a number that JSON cannot carry');
  }
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
    return JSON.stringify(value);
  }
  throw new Error(`webhook event data holds a ${typeof value}, which JSON cannot carry`);
}
