import {
  Alert,
  Box,
  Button,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Grid,
  MenuItem,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link as RouterLink, useParams, useSearchParams } from 'react-router-dom';
import { api, AuditEvent, Page, problemOf } from '../api';
import { Empty, formatInstant, isNotFound, QueryView } from '../components/states';
import { DateField, isDay } from '../components/date-field';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

interface Filters {
  action: string;
  outcome: string;
  actorId: string;
  resourceType: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = {
  action: '',
  outcome: '',
  actorId: '',
  resourceType: '',
  from: '',
  to: '',
};

const FILTER_NAMES = Object.keys(NO_FILTERS) as (keyof Filters)[];

/** The filters of the address's query (`?action=contract&from=2027-01-01`), so links and reloads keep them. */
function filtersOf(params: URLSearchParams): Filters {
  return Object.fromEntries(
    FILTER_NAMES.map((name) => [name, params.get(name) ?? '']),
  ) as unknown as Filters;
}

/** What the console can tell before asking: days that are days, and To after From. */
function filterErrors(filters: Filters): Partial<Record<keyof Filters, string>> {
  const errors: Partial<Record<keyof Filters, string>> = {};
  for (const name of ['from', 'to'] as const)
    if (filters[name] && !isDay(filters[name])) errors[name] = 'Not a day: use YYYY-MM-DD';
  if (!errors.from && !errors.to && filters.from && filters.to && filters.to <= filters.from)
    errors.to = 'Must be after From (To is exclusive)';
  return errors;
}

/** A date field (YYYY-MM-DD, UTC) as the API's instant. */
const dayStart = (day: string) => (day ? `${day}T00:00:00Z` : undefined);

/**
 * The tenant's audit log (`GET /v1/tenants/{id}/audit/events`), newest first, with the API's
 * filters and cursor paging; an event opens with its before/after.
 */
export function AuditLogPage() {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  const filters = filtersOf(params);
  const [draft, setDraft] = useState<Filters>(filters);
  // The address changed (back, forward, a link): the form shows its filters again.
  const [draftOf, setDraftOf] = useState(params.toString());
  if (draftOf !== params.toString()) {
    setDraftOf(params.toString());
    setDraft(filters);
  }
  const [open, setOpen] = useState<AuditEvent | null>(null);
  const appliedValid = Object.keys(filterErrors(filters)).length === 0;
  const events = useInfiniteQuery({
    queryKey: ['audit-events', tenantId, filters],
    queryFn: ({ pageParam }) =>
      api.get<Page<AuditEvent>>(`/v1/tenants/${tenantId}/audit/events`, {
        limit: 25,
        after: pageParam,
        order: 'desc',
        action: filters.action,
        outcome: filters.outcome,
        actorId: filters.actorId,
        resourceType: filters.resourceType,
        from: dayStart(filters.from),
        to: dayStart(filters.to),
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled: can('read', 'AuditEvent', tenantId) && appliedValid,
  });
  if (!can('read', 'AuditEvent', tenantId)) return <NotFoundPage what="audit log" />;
  if (events.error && isNotFound(events.error)) return <NotFoundPage what="audit log" />;

  const draftErrors = filterErrors(draft);
  // The server's field errors are about the applied filters: shown until the field is changed.
  const serverErrors = events.error ? problemOf(events.error).fields : {};
  const errorOf = (name: keyof Filters) =>
    draftErrors[name] ?? (draft[name] === filters[name] ? serverErrors[name] : undefined);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    if (Object.keys(draftErrors).length) return;
    setParams(Object.fromEntries(Object.entries(draft).filter(([, value]) => value !== '')));
  };
  const rows = events.data?.pages.flatMap((page) => page.data) ?? [];
  const input = (name: keyof Filters) => ({
    value: draft[name],
    onChange: (event: { target: { value: string } }) =>
      setDraft((current) => ({ ...current, [name]: event.target.value })),
    error: Boolean(errorOf(name)),
    helperText: errorOf(name) ?? ' ',
    size: 'small' as const,
    fullWidth: true,
  });

  return (
    <Box component="section" aria-labelledby="audit-title">
      <Stack direction="row" spacing={2} sx={{ mb: 2, alignItems: 'center' }}>
        <Typography id="audit-title" variant="h4" component="h1">
          Audit log
        </Typography>
        <Box sx={{ flexGrow: 1 }} />
        {can('read', 'AuditReport', tenantId) && (
          <Button component={RouterLink} to={`/tenants/${tenantId}/audit/reports`}>
            Audit reports
          </Button>
        )}
      </Stack>
      <Paper
        component="form"
        variant="outlined"
        onSubmit={apply}
        aria-label="Filters"
        sx={{ p: 2, mb: 2 }}
      >
        <Grid container spacing={2}>
          <Grid size={{ xs: 6, md: 2 }}>
            <TextField label="Action" placeholder="contract" {...input('action')} />
          </Grid>
          <Grid size={{ xs: 6, md: 2 }}>
            <TextField select label="Outcome" {...input('outcome')}>
              <MenuItem value="">any</MenuItem>
              <MenuItem value="success">success</MenuItem>
              <MenuItem value="denied">denied</MenuItem>
              <MenuItem value="failure">failure</MenuItem>
            </TextField>
          </Grid>
          <Grid size={{ xs: 6, md: 2 }}>
            <TextField label="Actor id" {...input('actorId')} />
          </Grid>
          <Grid size={{ xs: 6, md: 2 }}>
            <TextField label="Resource type" {...input('resourceType')} />
          </Grid>
          <Grid size={{ xs: 6, md: 2 }}>
            <DateField label="From (UTC)" {...input('from')} />
          </Grid>
          <Grid size={{ xs: 6, md: 2 }}>
            <DateField label="To (UTC, exclusive)" {...input('to')} />
          </Grid>
        </Grid>
        <Stack direction="row" spacing={1} sx={{ mt: 1 }}>
          <Button type="submit" variant="contained">
            Apply filters
          </Button>
          <Button
            onClick={() => {
              setDraft(NO_FILTERS);
              setParams({});
            }}
          >
            Clear
          </Button>
        </Stack>
      </Paper>
      {!appliedValid ? (
        <Alert severity="error" role="alert">
          The address&apos;s filters are not valid: fix the fields marked in red and apply them.
        </Alert>
      ) : (
        <QueryView
          query={{ isPending: events.isPending, error: events.error, data: rows }}
          what="audit events"
          isEmpty={(list) => list.length === 0}
          empty="No audit event matches."
        >
          {(list) => (
            <TableContainer component={Paper}>
              <Table size="small" aria-label="Audit events">
                <TableHead>
                  <TableRow>
                    <TableCell>#</TableCell>
                    <TableCell>When</TableCell>
                    <TableCell>Actor</TableCell>
                    <TableCell>Action</TableCell>
                    <TableCell>Resource</TableCell>
                    <TableCell>Outcome</TableCell>
                    <TableCell>
                      <span style={{ position: 'absolute', left: -10000 }}>Details</span>
                    </TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {list.map((event) => (
                    <TableRow key={event.id} hover>
                      <TableCell>{event.sequence}</TableCell>
                      <TableCell>{formatInstant(event.occurredAt)}</TableCell>
                      <TableCell>
                        {event.actor.email ??
                          event.actor.keyPrefix ??
                          event.actor.id ??
                          event.actor.type}
                      </TableCell>
                      <TableCell>{event.action}</TableCell>
                      <TableCell>
                        {event.resource.type}
                        {event.resource.id ? ` ${event.resource.id.slice(0, 8)}` : ''}
                      </TableCell>
                      <TableCell>
                        <Chip
                          size="small"
                          label={event.outcome}
                          color={
                            event.outcome === 'success'
                              ? 'success'
                              : event.outcome === 'denied'
                                ? 'warning'
                                : 'error'
                          }
                        />
                      </TableCell>
                      <TableCell>
                        <Button
                          size="small"
                          onClick={() => setOpen(event)}
                          aria-label={`Details of event ${event.sequence}`}
                        >
                          Details
                        </Button>
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
          )}
        </QueryView>
      )}
      {events.hasNextPage && (
        <Button
          onClick={() => events.fetchNextPage()}
          disabled={events.isFetchingNextPage}
          sx={{ mt: 2 }}
        >
          {events.isFetchingNextPage ? 'Loading…' : 'Older events'}
        </Button>
      )}
      <Dialog open={open !== null} onClose={() => setOpen(null)} maxWidth="md" fullWidth>
        {open && (
          <>
            <DialogTitle>
              Event {open.sequence}: {open.action} ({open.outcome})
            </DialogTitle>
            <DialogContent>
              <Typography variant="body2" gutterBottom>
                {formatInstant(open.occurredAt)} · request {open.requestId ?? '—'}
                {open.reason ? ` · reason: ${open.reason}` : ''}
              </Typography>
              <Grid container spacing={2}>
                <Grid size={{ xs: 12, md: 6 }}>
                  <Typography variant="subtitle2" component="h3">
                    Before
                  </Typography>
                  <Json value={open.changes?.before} />
                </Grid>
                <Grid size={{ xs: 12, md: 6 }}>
                  <Typography variant="subtitle2" component="h3">
                    After
                  </Typography>
                  <Json value={open.changes?.after} />
                </Grid>
              </Grid>
              <Typography variant="caption" sx={{ wordBreak: 'break-all' }}>
                hash {open.hash}
              </Typography>
            </DialogContent>
            <DialogActions>
              <Button onClick={() => setOpen(null)}>Close</Button>
            </DialogActions>
          </>
        )}
      </Dialog>
    </Box>
  );
}

function Json({ value }: { value: unknown }) {
  if (value === undefined || value === null) return <Empty>nothing recorded</Empty>;
  return (
    <Box
      component="pre"
      tabIndex={0}
      sx={{ bgcolor: 'grey.100', p: 1, overflow: 'auto', maxHeight: 360, fontSize: 12 }}
    >
      {JSON.stringify(value, null, 2)}
    </Box>
  );
}
