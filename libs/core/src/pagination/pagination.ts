import { Omittable } from '../validation/omittable';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ValidationFailed } from '../errors/common-problems';
import { parseInstant } from '../validation/instant';

export const DEFAULT_PAGE_LIMIT = 20;
export const MAX_PAGE_LIMIT = 100;

/** `?limit=&after=` query parameters of every list route. */
export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_LIMIT)
  limit: number = DEFAULT_PAGE_LIMIT;

  @ApiPropertyOptional({ description: 'Opaque cursor: the `nextCursor` of the previous page.' })
  @Omittable()
  @IsString()
  @MaxLength(512)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'after must be a cursor returned as nextCursor' })
  after?: string;
}

/** `{"data": [...], "nextCursor": "..." | null}` (API.md, Lists). */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Keyset position: the sort key and id of the last row of a page. */
export interface CursorPosition {
  /** Sort key of the last row, e.g. an ISO timestamp or a sequence number as a string. */
  k: string;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a cursor's sort key must be, so a forged one fails here and not in SQL. */
export type CursorKey = 'timestamp' | 'integer';

/**
 * @param key what the sort key of this list is (`timestamp`: ISO 8601; `integer`: digits)
 * @throws ValidationFailed (400, path `after`) when the cursor was not made by {@link encodeCursor}
 *   for this kind of list (its id must be a UUID).
 */
export function decodeCursor(cursor: string, key: CursorKey = 'timestamp'): CursorPosition {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorPosition;
    const keyOk =
      typeof value?.k === 'string' &&
      (key === 'integer'
        ? /^-?\d{1,16}$/.test(value.k) && Number.isSafeInteger(Number(value.k))
        : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(value.k) &&
          parseInstant(value.k) !== undefined);
    if (keyOk && typeof value.id === 'string' && UUID.test(value.id)) return value;
  } catch {
    // fall through to the validation error
  }
  throw new ValidationFailed('The cursor is not valid.', {
    errors: [{ path: 'after', message: 'after must be a cursor returned as nextCursor' }],
  });
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only proves there is a next page.
 */
export function toPage<T>(
  rows: T[],
  limit: number,
  positionOf: (row: T) => CursorPosition,
): Page<T> {
  const data = rows.slice(0, limit);
  const next = rows.length > limit ? encodeCursor(positionOf(data[data.length - 1])) : null;
  return { data, nextCursor: next };
}
