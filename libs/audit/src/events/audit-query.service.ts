import { PLATFORM_TENANT_ID, TenantDb } from '@app/authz';
import { decodeCursor, encodeCursor, Page } from '@app/core';
import { Injectable } from '@nestjs/common';
import { AUDIT_EVENT_COLUMNS, AuditEventRow, toAuditEvent } from './audit-event-row';
import { AuditEventFilter, filterSql } from './audit-filter';
import type { ChainedAuditEvent } from './canonical';

/** Reads audit events inside the request's (read-only, RLS-scoped) transaction. */
@Injectable()
export class AuditQueryService {
  constructor(private readonly db: TenantDb) {}

  /**
   * One chain's events (a tenant's, or the platform chain with {@link PLATFORM_TENANT_ID}) in
   * sequence order, `limit` per page.
   *
   * @throws ValidationFailed for a forged cursor
   */
  async chain(
    chain: string,
    filter: AuditEventFilter,
    order: 'asc' | 'desc',
    limit: number,
    after?: string,
  ): Promise<Page<ChainedAuditEvent>> {
    const params: unknown[] = [chain];
    let where = `e.tenant_id = $1 AND ${filterSql(filter, params)}`;
    if (after) {
      params.push(decodeCursor(after, 'integer').k);
      where += ` AND e.sequence ${order === 'asc' ? '>' : '<'} $${params.length}::bigint`;
    }
    params.push(limit + 1);
    const rows: AuditEventRow[] = await this.db.manager.query(
      `SELECT ${AUDIT_EVENT_COLUMNS} FROM audit_events e WHERE ${where}
        ORDER BY e.sequence ${order} LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, limit).map(toAuditEvent);
    const last = data[data.length - 1];
    return {
      data,
      nextCursor:
        rows.length > limit ? encodeCursor({ k: String(last.sequence), id: chain }) : null,
    };
  }

  /**
   * Events of every chain the transaction may see (platform staff: all), by time then id,
   * optionally of one tenant (`platform` for the operator's chain).
   *
   * @throws ValidationFailed for a forged cursor
   */
  async all(
    filter: AuditEventFilter & { tenantId?: string },
    order: 'asc' | 'desc',
    limit: number,
    after?: string,
  ): Promise<Page<ChainedAuditEvent>> {
    const params: unknown[] = [];
    let where = filterSql(filter, params);
    if (filter.tenantId) {
      params.push(filter.tenantId === 'platform' ? PLATFORM_TENANT_ID : filter.tenantId);
      where += ` AND e.tenant_id = $${params.length}`;
    }
    if (after) {
      const cursor = decodeCursor(after);
      params.push(cursor.k, cursor.id);
      where += ` AND (e.occurred_at, e.id) ${order === 'asc' ? '>' : '<'} ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit + 1);
    const rows: AuditEventRow[] = await this.db.manager.query(
      `SELECT ${AUDIT_EVENT_COLUMNS} FROM audit_events e WHERE ${where}
        ORDER BY e.occurred_at ${order}, e.id ${order} LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, limit).map(toAuditEvent);
    const last = data[data.length - 1];
    return {
      data,
      nextCursor: rows.length > limit ? encodeCursor({ k: last.occurredAt, id: last.id }) : null,
    };
  }
}
