import { Button } from '@mui/material';
import { useInfiniteQuery } from '@tanstack/react-query';
import { api } from '../api';

/** A page of either list shape the API answers: ours (`nextCursor`) or OpenAI's (`has_more`). */
export interface AnyPage<T> {
  data: T[];
  nextCursor?: string | null;
  has_more?: boolean;
}

/** Where the next page starts: our cursor, or (OpenAI lists) the last item's id. */
export function nextPageOf<T extends { id: string }>(page: AnyPage<T>): string | undefined {
  if (page.has_more !== undefined) return page.has_more ? page.data.at(-1)?.id : undefined;
  return page.nextCursor ?? undefined;
}

/**
 * Every item of a list the API pages (either shape), `limit` a page, at most `maxPages` pages:
 * for choices offered in a form and figures over a whole list.
 */
export async function allPages<T extends { id: string }>(
  path: string,
  { limit = 100, maxPages = 100 }: { limit?: number; maxPages?: number } = {},
): Promise<T[]> {
  const items: T[] = [];
  let after: string | undefined;
  for (let page = 0; page < maxPages; page += 1) {
    const list = await api.get<AnyPage<T>>(path, { limit, after });
    items.push(...list.data);
    after = nextPageOf(list);
    if (after === undefined || list.data.length === 0) break;
  }
  return items;
}

/**
 * A list the API pages (`?limit=&after=`), loaded a page at a time: `rows` so far, and `view`,
 * what {@link QueryView} takes. `refetchInterval` follows work under way (every loaded page).
 */
export function usePagedList<T extends { id: string }>(
  queryKey: unknown[],
  path: string,
  options: {
    limit?: number;
    query?: Record<string, string | number | undefined>;
    enabled?: boolean;
    refetchInterval?: (rows: T[]) => number | false;
  } = {},
) {
  const { limit = 50, query = {}, enabled = true, refetchInterval } = options;
  const list = useInfiniteQuery({
    queryKey: [...queryKey, query],
    queryFn: ({ pageParam }) => api.get<AnyPage<T>>(path, { ...query, limit, after: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: nextPageOf,
    enabled,
    refetchInterval: refetchInterval
      ? (state) => refetchInterval(state.state.data?.pages.flatMap((page) => page.data) ?? [])
      : false,
  });
  const rows = list.data?.pages.flatMap((page) => page.data) ?? [];
  return { ...list, rows, view: { isPending: list.isPending, error: list.error, data: rows } };
}

/** Loads the next page of a {@link usePagedList}; absent when there is none. */
export function MoreButton({
  list,
  label,
}: {
  list: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown };
  label: string;
}) {
  if (!list.hasNextPage) return null;
  return (
    <Button
      onClick={() => void list.fetchNextPage()}
      disabled={list.isFetchingNextPage}
      sx={{ mt: 2 }}
    >
      {list.isFetchingNextPage ? 'Loading…' : label}
    </Button>
  );
}
