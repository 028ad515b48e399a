import { Alert, Box, CircularProgress, Typography } from '@mui/material';
import type { ReactNode } from 'react';
import { ApiError } from '../api';

/** A region that is loading, announced to screen readers. */
export function Loading({ label }: { label: string }) {
  return (
    <Box
      role="status"
      aria-live="polite"
      sx={{ display: 'flex', gap: 2, alignItems: 'center', p: 2 }}
    >
      <CircularProgress size={20} aria-hidden />
      <Typography>{label}</Typography>
    </Box>
  );
}

/** An error answered by the API (its problem detail and code), or any other failure. */
export function ErrorState({ error, what }: { error: unknown; what: string }) {
  const detail = error instanceof ApiError ? `${error.detail} (${error.code})` : String(error);
  return (
    <Alert severity="error" role="alert" sx={{ my: 1 }}>
      Could not load {what}: {detail}
    </Alert>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <Typography color="text.secondary" sx={{ p: 2 }}>
      {children}
    </Typography>
  );
}

export const isNotFound = (error: unknown) => error instanceof ApiError && error.status === 404;

/** Dates as people read them, in UTC (what the API speaks). */
export function formatInstant(value: string | null | undefined): string {
  if (!value) return '—';
  return `${value.replace('T', ' ').replace(/\.\d+/, '').replace('Z', '')} UTC`;
}

/**
 * The three states every data panel has: loading, failed, empty; `children` renders the rest.
 * Works for any query-like value (TanStack Query's results, or rows gathered from pages).
 */
export function QueryView<T>({
  query,
  what,
  isEmpty,
  empty,
  children,
}: {
  query: { isPending: boolean; error: unknown; data: T | undefined };
  what: string;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading label={`Loading ${what}…`} />;
  if (query.error || query.data === undefined)
    return <ErrorState error={query.error} what={what} />;
  if (isEmpty?.(query.data)) return <Empty>{empty}</Empty>;
  return <>{children(query.data)}</>;
}

/**
 * Hidden on screen, read by screen readers. Sizes are strings: MUI's `sx` reads a bare `1` as
 * 100 %, which made every page that used this scroll sideways.
 */
export const visuallyHidden = {
  position: 'absolute',
  width: '1px',
  height: '1px',
  margin: '-1px',
  padding: 0,
  border: 0,
  overflow: 'hidden',
  clip: 'rect(0 0 0 0)',
  whiteSpace: 'nowrap',
} as const;
