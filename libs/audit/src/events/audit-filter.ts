/** Filters of audit queries, exports and reports (API.md, Audit). */
export interface AuditEventFilter {
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  actorId?: string;
  /** An action or a prefix of whole segments: `contract` matches `contract.activate`. */
  action?: string;
  resourceType?: string;
  resourceId?: string;
  outcome?: 'success' | 'denied' | 'failure';
}

/**
 * The filter as SQL conditions on alias `e`, appending its values to `params` (positional
 * `$n`). Returns `TRUE` when nothing filters.
 */
export function filterSql(filter: AuditEventFilter, params: unknown[]): string {
  const conditions: string[] = [];
  const add = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.from) conditions.push(`e.occurred_at >= ${add(filter.from)}::timestamptz`);
  if (filter.to) conditions.push(`e.occurred_at < ${add(filter.to)}::timestamptz`);
  if (filter.actorId) conditions.push(`e.actor_id = ${add(filter.actorId)}`);
  if (filter.action) {
    const exact = add(filter.action);
    const prefix = add(`${filter.action.replace(/[\\%_]/g, (c) => `\\${c}`)}.%`);
    conditions.push(`(e.action = ${exact} OR e.action LIKE ${prefix})`);
  }
  if (filter.resourceType) conditions.push(`e.resource_type = ${add(filter.resourceType)}`);
  if (filter.resourceId) conditions.push(`e.resource_id = ${add(filter.resourceId)}`);
  if (filter.outcome) conditions.push(`e.outcome = ${add(filter.outcome)}`);
  return conditions.length ? conditions.join(' AND ') : 'TRUE';
}
