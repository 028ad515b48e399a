import { Chip } from '@mui/material';

const GOOD = new Set(['active', 'running', 'succeeded', 'completed', 'enabled', 'verified', 'met']);
const BAD = new Set(['failed', 'degraded', 'open', 'missed']);
const BUSY = new Set([
  'pending',
  'provisioning',
  'updating',
  'stopping',
  'deleting',
  'queued',
  'validating_files',
  'cancel requested',
  'live',
]);

/** A status as a chip, coloured by what it means (fine, wrong, under way, neither). */
export function StatusChip({ status, label }: { status: string; label?: string }) {
  const color = GOOD.has(status)
    ? 'success'
    : BAD.has(status)
      ? 'error'
      : BUSY.has(status)
        ? 'info'
        : 'default';
  return (
    <Chip
      size="small"
      label={status}
      color={color}
      aria-label={label ? `${label}: ${status}` : undefined}
    />
  );
}
