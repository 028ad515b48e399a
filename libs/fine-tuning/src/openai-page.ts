import { ValidationFailed } from '@app/core';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/** One page of an OpenAI list (`data`, `has_more`). */
export interface OpenAiPage<T> {
  data: T[];
  hasMore: boolean;
}

/**
 * One page of `query`'s rows newest first by `(created_at, id)`, OpenAI style: `after` is the id
 * of the last row of the previous page, found through `anchorOf` (which throws for a row the
 * caller may not see).
 *
 * @throws ValidationFailed (400, `after`) when `anchorOf` finds no such row; it says `what`
 */
export async function newestFirstPage<T extends ObjectLiteral & { id: string; createdAt: Date }>(
  query: SelectQueryBuilder<T>,
  { limit, after }: { limit: number; after?: string },
  anchorOf: (id: string) => Promise<T>,
  what: string,
): Promise<OpenAiPage<T>> {
  const alias = query.alias;
  query
    .orderBy(`${alias}.created_at`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .limit(limit + 1);
  if (after) {
    const anchor = await anchorOf(after).catch(() => {
      throw new ValidationFailed('Unknown cursor.', {
        errors: [{ path: 'after', message: `no such ${what} in this tenant` }],
      });
    });
    query.andWhere(`(${alias}.created_at, ${alias}.id) < (:at, :id)`, {
      at: anchor.createdAt,
      id: anchor.id,
    });
  }
  const rows = await query.getMany();
  return { data: rows.slice(0, limit), hasMore: rows.length > limit };
}
