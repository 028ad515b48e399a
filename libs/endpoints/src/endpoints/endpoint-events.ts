import type { EntityManager } from 'typeorm';

export interface NewEndpointEvent {
  tenantId: string;
  endpointId: string;
  type: string;
  message: string;
  fromStatus?: string | null;
  toStatus?: string | null;
  details?: Record<string, unknown> | null;
  /** `user:<id>`, `api_key:<id>`, `system:endpoint-reconciler`. */
  actor: string;
}

/** Appends entries to endpoints' histories (`endpoint_events`) in the caller's transaction. */
export async function recordEndpointEvents(
  manager: EntityManager,
  events: readonly NewEndpointEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const column = <T>(pick: (e: NewEndpointEvent) => T) => events.map(pick);
  await manager.query(
    `INSERT INTO endpoint_events (tenant_id, endpoint_id, type, from_status, to_status, message,
                                  details, actor)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                          $7::jsonb[], $8::text[])`,
    [
      column((e) => e.tenantId),
      column((e) => e.endpointId),
      column((e) => e.type),
      column((e) => e.fromStatus ?? null),
      column((e) => e.toStatus ?? null),
      column((e) => e.message.slice(0, 2000)),
      column((e) => (e.details ? JSON.stringify(e.details) : null)),
      column((e) => e.actor),
    ],
  );
}
