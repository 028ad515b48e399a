import type { EntityManager, EntityTarget, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { decodeCursor, Page, toPage } from './pagination';

export interface KeysetOptions<T> {
  /** The query builder's alias, e.g. `k`. */
  alias: string;
  /** The tie-breaking unique column (snake_case), `id` unless the table's key differs. */
  idColumn?: string;
  /** Reads that column's value from a loaded entity. */
  idOf: (row: T) => string;
  order: 'ASC' | 'DESC';
  limit: number;
  /** The `after` query parameter: a cursor made by a previous page. */
  after?: string;
}

/**
 * One page of `query` in `(created_at, <id>)` order, `limit` rows, after the cursor. The cursor's
 * time is read as text from PostgreSQL (`to_json(created_at)`), so it keeps microseconds that a
 * JS `Date` would drop and no row is skipped or repeated at a page edge.
 *
 * @throws ValidationFailed (400, `after`) for a cursor this list did not make.
 */
export async function keysetPage<T extends ObjectLiteral>(
  query: SelectQueryBuilder<T>,
  { alias, idColumn = 'id', idOf, order, limit, after }: KeysetOptions<T>,
): Promise<Page<T>> {
  query
    .orderBy(`${alias}.created_at`, order)
    .addOrderBy(`${alias}.${idColumn}`, order)
    .limit(limit + 1)
    .addSelect(`to_json(${alias}.created_at) #>> '{}'`, 'cursor_at');
  if (after) {
    const cursor = decodeCursor(after);
    query.andWhere(
      `(${alias}.created_at, ${alias}.${idColumn}) ${order === 'ASC' ? '>' : '<'} (:cursorAt::timestamptz, :cursorId::uuid)`,
      { cursorAt: cursor.k, cursorId: cursor.id },
    );
  }
  const { entities, raw } = await query.getRawAndEntities();
  const idKey = `${alias}_${idColumn}`;
  const cursors = new Map(raw.map((row: Record<string, string>) => [row[idKey], row.cursor_at]));
  return toPage(entities, limit, (row) => ({ k: cursors.get(idOf(row))!, id: idOf(row) }));
}

/**
 * One page of a tenant's rows of `entity`, newest first: {@link keysetPage} over
 * `tenant_id = tenantId`, the list every tenant-owned resource with `id` and `created_at` has.
 *
 * @throws ValidationFailed (400, `after`) for a cursor this list did not make.
 */
export function tenantRowsNewestFirst<T extends ObjectLiteral & { id: string }>(
  manager: EntityManager,
  entity: EntityTarget<T>,
  tenantId: string,
  limit: number,
  after?: string,
): Promise<Page<T>> {
  const query = manager
    .getRepository(entity)
    .createQueryBuilder('r')
    .where('r.tenant_id = :tenantId', { tenantId });
  return keysetPage(query, { alias: 'r', idOf: (row) => row.id, order: 'DESC', limit, after });
}
