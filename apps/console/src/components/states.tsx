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
