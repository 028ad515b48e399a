import {
  Alert,
  Box,
  Button,
  Chip,
  Grid,
  IconButton,
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
import { useMemo, useState, type FormEvent } from 'react';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import { api, Contract, problemOf } from '../api';
import {
  BILLING_MODELS,
  bodyOf,
  ContractForm,
  emptyForm,
  ENFORCEMENTS,
  formOf,
  LineForm,
  lineErrors,
  METRICS,
  newLine,
  PERIODS,
} from '../contract-form';
import {
  ErrorState,
  formatInstant,
  isNotFound,
  Loading,
  visuallyHidden,
} from '../components/states';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

/**
 * Drafts, edits and activates a contract: term, currency, committed spend, SLA terms and the
 * table of quota lines (checked as you type). The server's field errors (problem+json
 * `errors[].path`) appear next to their field; other refusals above the form.
 */
export function ContractEditorPage() {
  const { tenantId = '', contractId } = useParams();
  const existing = useQuery({
    queryKey: ['contract', tenantId, contractId],
    queryFn: () => api.get<Contract>(`/v1/tenants/${tenantId}/contracts/${contractId}`),
    enabled: Boolean(contractId),
  });
  if (contractId && existing.isPending) return <Loading label="Loading the contract…" />;
  if (contractId && existing.error) {
    if (isNotFound(existing.error)) return <NotFoundPage what="contract" />;
    return <ErrorState error={existing.error} what="the contract" />;
  }
  return (
    <Editor
      key={existing.data ? `${existing.data.id}-${existing.data.status}` : 'new'}
      tenantId={tenantId}
      contract={existing.data}
    />
  );
}

function Editor({ tenantId, contract }: { tenantId: string; contract?: Contract }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [form, setForm] = useState<ContractForm>(() => (contract ? formOf(contract) : emptyForm()));
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const editable = !contract || contract.status === 'draft';
  const mayWrite = contract
    ? can('update', 'Contract', tenantId)
    : can('create', 'Contract', tenantId);
  const readOnly = !editable || !mayWrite;
  const liveErrors = useMemo(() => lineErrors(form.lines), [form.lines]);

  // A server error belongs to the value it was about: editing the field clears it.
  const update = (patch: Partial<ContractForm>, paths: string[]) => {
    setForm((current) => ({ ...current, ...patch }));
    setServerErrors((current) => {
      const next = { ...current };
      for (const path of paths) delete next[path];
      return next;
    });
  };
  const updateLine = (index: number, patch: Partial<LineForm>) => {
    const lines = form.lines.map((line, i) => (i === index ? { ...line, ...patch } : line));
    update(
      { lines },
      Object.keys(patch).map((field) => `quotaLines[${index}].${field}`),
    );
  };

  const fail = (error: unknown) => {
    const { message, fields } = problemOf(error);
    setServerErrors(fields);
    setProblem(message);
  };

  const save = useMutation({
    mutationFn: () =>
      contract
        ? api.patch<Contract>(`/v1/tenants/${tenantId}/contracts/${contract.id}`, bodyOf(form))
        : api.post<Contract>(`/v1/tenants/${tenantId}/contracts`, bodyOf(form)),
    onMutate: () => {
      setProblem(null);
      setNotice(null);
    },
    onSuccess: async (saved) => {
      await queries.invalidateQueries({ queryKey: ['contracts', tenantId] });
      queries.setQueryData(['contract', tenantId, saved.id], saved);
      setNotice(`Draft ${saved.contractNumber} saved.`);
      if (!contract) navigate(`/tenants/${tenantId}/contracts/${saved.id}`, { replace: true });
    },
    onError: fail,
  });

  const activate = useMutation({
    mutationFn: () =>
      api.post<Contract>(`/v1/tenants/${tenantId}/contracts/${contract!.id}/activate`),
    onMutate: () => {
      setProblem(null);
      setNotice(null);
    },
    onSuccess: async (activated) => {
      queries.setQueryData(['contract', tenantId, activated.id], activated);
      await queries.invalidateQueries({ queryKey: ['contracts', tenantId] });
      await queries.invalidateQueries({ queryKey: ['quotas', tenantId] });
    },
    onError: fail,
  });

  const shownNotice =
    notice ??
    (contract?.status === 'active' ? `Contract ${contract.contractNumber} is active.` : null);

  const errorOf = (path: string) => liveErrors[path] ?? serverErrors[path];
  const field = (path: keyof ContractForm, serverPath: string = path) => ({
    value: form[path] as string,
    onChange: (event: { target: { value: string } }) =>
      update({ [path]: event.target.value } as Partial<ContractForm>, [serverPath]),
    error: Boolean(errorOf(serverPath)),
    helperText: errorOf(serverPath) ?? ' ',
    disabled: readOnly,
    fullWidth: true,
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (Object.keys(liveErrors).length) {
      setProblem('Fix the quota lines marked in red first.');
      return;
    }
    save.mutate();
  };

  return (
    <Box component="section" aria-labelledby="contract-title">
      <Stack direction="row" spacing={2} sx={{ mb: 2, alignItems: 'center' }}>
        <Typography id="contract-title" variant="h4" component="h1">
          {contract ? `Contract ${contract.contractNumber}` : 'New contract'}
        </Typography>
        {contract && <Chip label={`Status: ${contract.status}`} />}
        {contract && <Chip variant="outlined" label={`Version ${contract.version}`} />}
        <Box sx={{ flexGrow: 1 }} />
        <Button component={RouterLink} to={`/tenants/${tenantId}`}>
          Back to the tenant
        </Button>
      </Stack>
      {problem && (
        <Alert severity="error" role="alert" sx={{ mb: 2 }}>
          {problem}
        </Alert>
      )}
      {shownNotice && (
        <Alert severity="success" role="status" sx={{ mb: 2 }}>
          {shownNotice}
        </Alert>
      )}
      {contract && !editable && (
        <Alert severity="info" sx={{ mb: 2 }}>
          An {contract.status} contract is not edited in place; its terms below are read-only.
          Activated {formatInstant(contract.activatedAt)}.
        </Alert>
      )}
      <form onSubmit={submit} noValidate aria-label="Contract terms">
        <Paper variant="outlined" sx={{ p: 2, mb: 2 }}>
          <Typography variant="h6" component="h2" gutterBottom>
            Term and money
          </Typography>
          <Grid container spacing={2}>
            <Grid size={{ xs: 12, md: 4 }}>
              <TextField label="Contract number" required {...field('contractNumber')} />
            </Grid>
            <Grid size={{ xs: 6, md: 4 }}>
              <TextField
                label="Term start (UTC)"
                type="date"
                required
                slotProps={{ inputLabel: { shrink: true } }}
                {...field('termStart')}
              />
            </Grid>
            <Grid size={{ xs: 6, md: 4 }}>
              <TextField
                label="Term end (UTC, exclusive)"
                type="date"
                slotProps={{ inputLabel: { shrink: true } }}
                {...field('termEnd')}
              />
            </Grid>
            <Grid size={{ xs: 6, md: 4 }}>
              <TextField label="Currency (ISO 4217)" {...field('currency')} />
            </Grid>
            <Grid size={{ xs: 6, md: 4 }}>
              <TextField
                label="Committed spend (minor units)"
                inputMode="numeric"
                {...field('committedSpendMinor')}
              />
            </Grid>
            <Grid size={{ xs: 12, md: 4 }}>
              <TextField select label="Billing model" {...field('billingModel')}>
                {BILLING_MODELS.map((model) => (
                  <MenuItem key={model} value={model}>
                    {model}
                  </MenuItem>
                ))}
              </TextField>
            </Grid>
          </Grid>
        </Paper>
        <Paper variant="outlined" sx={{ p: 2, mb: 2 }}>
          <Typography variant="h6" component="h2" gutterBottom>
            SLA terms
          </Typography>
          <Grid container spacing={2}>
            <Grid size={{ xs: 12, md: 4 }}>
              <TextField
                label="Availability target (%)"
                inputMode="decimal"
                {...field('availabilityTarget', 'sla.availabilityTarget')}
              />
            </Grid>
            <Grid size={{ xs: 6, md: 4 }}>
              <TextField
                label="Latency p95 (ms)"
                inputMode="numeric"
                {...field('latencyP95Ms', 'sla.latencyP95Ms')}
              />
            </Grid>
            <Grid size={{ xs: 6, md: 4 }}>
              <TextField
                label="Time to first byte p95 (ms)"
                inputMode="numeric"
                {...field('ttfbP95Ms', 'sla.ttfbP95Ms')}
              />
            </Grid>
          </Grid>
        </Paper>
        <Paper variant="outlined" sx={{ p: 2, mb: 2 }}>
          <Stack direction="row" sx={{ justifyContent: 'space-between', alignItems: 'center' }}>
            <Typography id="quota-lines-title" variant="h6" component="h2">
              Quota lines
            </Typography>
            {!readOnly && (
              <Button onClick={() => update({ lines: [...form.lines, newLine('requests')] }, [])}>
                Add quota line
              </Button>
            )}
          </Stack>
          {serverErrors.quotaLines && (
            <Typography color="error" role="alert">
              {serverErrors.quotaLines}
            </Typography>
          )}
          <TableContainer>
            <Table size="small" aria-labelledby="quota-lines-title">
              <TableHead>
                <TableRow>
                  <TableCell>Metric</TableCell>
                  <TableCell>Limit</TableCell>
                  <TableCell>Period</TableCell>
                  <TableCell>Enforcement</TableCell>
                  <TableCell>Overage price (minor units)</TableCell>
                  <TableCell>
                    <span style={visuallyHidden}>Remove</span>
                  </TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {form.lines.map((line, i) => {
                  const cell = (name: keyof LineForm, label: string) => {
                    const path = `quotaLines[${i}].${name}`;
                    return {
                      value: line[name] as string,
                      onChange: (event: { target: { value: string } }) =>
                        updateLine(i, { [name]: event.target.value } as Partial<LineForm>),
                      error: Boolean(errorOf(path)),
                      helperText: errorOf(path) ?? ' ',
                      disabled: readOnly,
                      size: 'small' as const,
                      fullWidth: true,
                      // Text cells label their input; select cells their combobox.
                      slotProps: {
                        htmlInput: { 'aria-label': `${label}, line ${i + 1}` },
                        select: {
                          SelectDisplayProps: { 'aria-label': `${label}, line ${i + 1}` },
                        },
                      },
                    };
                  };
                  return (
                    <TableRow key={line.key}>
                      <TableCell>
                        <TextField select {...cell('metric', 'Metric')}>
                          {METRICS.map((metric) => (
                            <MenuItem key={metric} value={metric}>
                              {metric}
                            </MenuItem>
                          ))}
                        </TextField>
                      </TableCell>
                      <TableCell>
                        <TextField inputMode="numeric" {...cell('limit', 'Limit')} />
                      </TableCell>
                      <TableCell>
                        <TextField select {...cell('period', 'Period')}>
                          {PERIODS.map((period) => (
                            <MenuItem key={period} value={period}>
                              {period}
                            </MenuItem>
                          ))}
                        </TextField>
                      </TableCell>
                      <TableCell>
                        <TextField select {...cell('enforcement', 'Enforcement')}>
                          {ENFORCEMENTS.map((mode) => (
                            <MenuItem key={mode} value={mode}>
                              {mode}
                            </MenuItem>
                          ))}
                        </TextField>
                      </TableCell>
                      <TableCell>
                        <TextField
                          inputMode="numeric"
                          {...cell('overageUnitPriceMinor', 'Overage price')}
                        />
                      </TableCell>
                      <TableCell>
                        {!readOnly && (
                          <IconButton
                            aria-label={`Remove line ${i + 1}`}
                            onClick={() =>
                              update({ lines: form.lines.filter((_, j) => j !== i) }, [])
                            }
                          >
                            ×
                          </IconButton>
                        )}
                      </TableCell>
                    </TableRow>
                  );
                })}
              </TableBody>
            </Table>
          </TableContainer>
        </Paper>
        {!readOnly && (
          <Stack direction="row" spacing={2}>
            <Button type="submit" variant="contained" disabled={save.isPending}>
              {save.isPending ? 'Saving…' : 'Save draft'}
            </Button>
            {contract && can('activate', 'Contract', tenantId) && (
              <Button
                variant="outlined"
                color="success"
                onClick={() => activate.mutate()}
                disabled={activate.isPending || save.isPending}
              >
                {activate.isPending ? 'Activating…' : 'Activate'}
              </Button>
            )}
          </Stack>
        )}
      </form>
    </Box>
  );
}
