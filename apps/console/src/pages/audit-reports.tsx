import {
  Alert,
  Box,
  Button,
  Chip,
  Grid,
  Link,
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
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router-dom';
import { api, AuditReport, Page, problemOf, ReportManifest, Verification } from '../api';
import { ErrorState, formatInstant, isNotFound, Loading, QueryView } from '../components/states';
import { DateField } from '../components/date-field';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

const DAY_MS = 86_400_000;
const isoDay = (date: Date) => date.toISOString().slice(0, 10);
const endOfToday = () => Math.ceil(Date.now() / DAY_MS) * DAY_MS;

/**
 * Signed audit reports of the tenant's chain: request one for a range, follow it until the worker
 * has written it, download the file and its signed manifest, and check the chain over the range.
 */
export function AuditReportsPage() {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  const queries = useQueryClient();
  const base = `/v1/tenants/${tenantId}/audit/reports`;
  // Default range: the last 30 whole UTC days, through today.
  const [from, setFrom] = useState(() => isoDay(new Date(endOfToday() - 30 * DAY_MS)));
  const [to, setTo] = useState(() => isoDay(new Date(endOfToday())));
  const [format, setFormat] = useState<'jsonl' | 'csv'>('jsonl');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);

  const reports = useQuery({
    queryKey: ['audit-reports', tenantId],
    queryFn: () => api.get<Page<AuditReport>>(base, { limit: 50 }),
    enabled: can('read', 'AuditReport', tenantId),
    // Follow reports the worker has not finished yet.
    refetchInterval: (query) =>
      query.state.data?.data.some((r) => r.status === 'queued' || r.status === 'running')
        ? 1000
        : false,
  });
  const request = useMutation({
    mutationFn: () =>
      api.post<AuditReport>(base, {
        from: `${from}T00:00:00Z`,
        to: `${to}T00:00:00Z`,
        format,
      }),
    onMutate: () => {
      setProblem(null);
      setFieldErrors({});
    },
    onSuccess: () => queries.invalidateQueries({ queryKey: ['audit-reports', tenantId] }),
    onError: (error) => {
      const { message, fields } = problemOf(error);
      setFieldErrors(fields);
      setProblem(message);
    },
  });

  if (!can('read', 'AuditReport', tenantId)) return <NotFoundPage what="audit reports" />;
  if (reports.error && isNotFound(reports.error)) return <NotFoundPage what="audit reports" />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    request.mutate();
  };

  return (
    <Box component="section" aria-labelledby="reports-title">
      <Typography id="reports-title" variant="h4" component="h1" gutterBottom>
        Audit reports
      </Typography>
      {can('create', 'AuditReport', tenantId) && (
        <Paper
          component="form"
          variant="outlined"
          onSubmit={submit}
          aria-label="Request a report"
          sx={{ p: 2, mb: 2 }}
        >
          <Typography variant="h6" component="h2" gutterBottom>
            Request a report
          </Typography>
          {problem && (
            <Alert severity="error" role="alert" sx={{ mb: 2 }}>
              {problem}
            </Alert>
          )}
          <Grid container spacing={2} sx={{ alignItems: 'flex-start' }}>
            <Grid size={{ xs: 12, md: 3 }}>
              <DateField
                label="From (UTC)"
                value={from}
                onChange={(event) => setFrom(event.target.value)}
                error={Boolean(fieldErrors.from)}
                helperText={fieldErrors.from ?? ' '}
                fullWidth
              />
            </Grid>
            <Grid size={{ xs: 12, md: 3 }}>
              <DateField
                label="To (UTC, exclusive)"
                value={to}
                onChange={(event) => setTo(event.target.value)}
                error={Boolean(fieldErrors.to)}
                helperText={fieldErrors.to ?? ' '}
                fullWidth
              />
            </Grid>
            <Grid size={{ xs: 12, md: 3 }}>
              <TextField
                select
                label="Format"
                value={format}
                onChange={(event) => setFormat(event.target.value as 'jsonl' | 'csv')}
                helperText=" "
                fullWidth
              >
                <MenuItem value="jsonl">JSON Lines</MenuItem>
                <MenuItem value="csv">CSV</MenuItem>
              </TextField>
            </Grid>
            <Grid size={{ xs: 12, md: 3 }}>
              <Button type="submit" variant="contained" disabled={request.isPending}>
                {request.isPending ? 'Requesting…' : 'Request report'}
              </Button>
            </Grid>
          </Grid>
        </Paper>
      )}
      <QueryView
        query={reports}
        what="reports"
        isEmpty={(page) => page.data.length === 0}
        empty="No report requested yet."
      >
        {(page) => (
          <TableContainer component={Paper}>
            <Table size="small" aria-label="Reports">
              <TableHead>
                <TableRow>
                  <TableCell>Requested</TableCell>
                  <TableCell>Range</TableCell>
                  <TableCell>Format</TableCell>
                  <TableCell>Status</TableCell>
                  <TableCell>Rows</TableCell>
                  <TableCell>File and verification</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {page.data.map((report) => (
                  <ReportRow key={report.id} base={base} tenantId={tenantId} report={report} />
                ))}
              </TableBody>
            </Table>
          </TableContainer>
        )}
      </QueryView>
    </Box>
  );
}

function ReportRow({
  base,
  tenantId,
  report,
}: {
  base: string;
  tenantId: string;
  report: AuditReport;
}) {
  const [verify, setVerify] = useState(false);
  const done = report.status === 'completed';
  // Each row's controls say which report they act on (screen readers list them out of the row).
  const name = `report ${report.id.slice(0, 8)} (${formatInstant(report.from)} to ${formatInstant(report.to)})`;
  return (
    <TableRow>
      <TableCell>{formatInstant(report.createdAt)}</TableCell>
      <TableCell>
        {formatInstant(report.from)} → {formatInstant(report.to)}
      </TableCell>
      <TableCell>{report.format}</TableCell>
      <TableCell>
        <Chip
          size="small"
          label={report.status}
          aria-label={`Report status: ${report.status}`}
          color={done ? 'success' : report.status === 'failed' ? 'error' : 'default'}
        />
        {report.error && <Typography variant="caption"> {report.error}</Typography>}
      </TableCell>
      <TableCell>{report.rowCount ?? '—'}</TableCell>
      <TableCell>
        {done ? (
          <Stack spacing={0.5}>
            <Stack direction="row" spacing={2}>
              <Link href={`${base}/${report.id}/download`} download aria-label={`Download ${name}`}>
                Download report
              </Link>
              <Link
                href={`${base}/${report.id}/manifest`}
                download={`manifest-${report.id}.json`}
                aria-label={`Download the manifest of ${name}`}
              >
                Download manifest
              </Link>
              {!verify && (
                <Button size="small" onClick={() => setVerify(true)} aria-label={`Verify ${name}`}>
                  Verify
                </Button>
              )}
            </Stack>
            {verify && <VerificationStatus base={base} tenantId={tenantId} report={report} />}
          </Stack>
        ) : report.status === 'failed' ? (
          'No file'
        ) : (
          <Typography variant="body2" role="status">
            Being written…
          </Typography>
        )}
      </TableCell>
    </TableRow>
  );
}

/**
 * What the console can check: the signed manifest matches the report (row count, SHA-256,
 * signing key) and the server re-verifies the tenant's hash chain over the report's range.
 * Offline verification of the signature is `npm run audit:verify` (README).
 */
function VerificationStatus({
  base,
  tenantId,
  report,
}: {
  base: string;
  tenantId: string;
  report: AuditReport;
}) {
  const manifest = useQuery({
    queryKey: ['manifest', report.id],
    queryFn: () => api.get<ReportManifest>(`${base}/${report.id}/manifest`),
  });
  const chain = useQuery({
    queryKey: ['verify', tenantId, report.from, report.to],
    queryFn: () =>
      api.get<Verification>(`/v1/tenants/${tenantId}/audit/verify`, {
        from: report.from,
        to: report.to,
      }),
  });
  if (manifest.isPending || chain.isPending) return <Loading label="Verifying…" />;
  if (manifest.error) return <ErrorState error={manifest.error} what="the manifest" />;
  if (chain.error) return <ErrorState error={chain.error} what="the chain verification" />;
  const matches =
    manifest.data.sha256 === report.sha256 && manifest.data.rowCount === report.rowCount;
  return (
    <Box role="status" aria-label={`Verification status of report ${report.id.slice(0, 8)}`}>
      <Typography variant="body2" color={matches ? 'success.main' : 'error'}>
        {matches
          ? `Manifest signed by key ${manifest.data.keyId}: ${manifest.data.rowCount} rows, SHA-256 ${manifest.data.sha256.slice(0, 16)}…`
          : 'The manifest does not match the report.'}
      </Typography>
      <Typography variant="body2" color={chain.data.ok ? 'success.main' : 'error'}>
        {chain.data.ok
          ? `Chain verified: ${chain.data.checked} events intact.`
          : `Chain broken at sequence ${chain.data.firstBadSequence}: ${chain.data.reason}.`}
      </Typography>
    </Box>
  );
}
