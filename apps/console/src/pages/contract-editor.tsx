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
  IconButton,
  MenuItem,
  Paper,
  Stack,
  Step,
  StepContent,
  StepLabel,
  Stepper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  type TextFieldProps,
  Typography,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { Link as RouterLink, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { api, Contract, Page, problemOf, Tenant } from '../api';
import {
  BILLING_MODELS,
  bodyOf,
  ContractForm,
  emptyForm,
  ENFORCEMENTS,
  formOf,
  LineForm,
  lineErrors,
  MAX_CREDIT_TIERS,
  METRICS,
  newLine,
  newTier,
  PERIODS,
  TierForm,
  tierErrors,
} from '../contract-form';
import {
  ErrorState,
  formatInstant,
  isNotFound,
  Loading,
  QueryView,
  visuallyHidden,
} from '../components/states';
import { DateField, isDay } from '../components/date-field';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

/**
 * Drafts, edits and activates a contract: term, currency, committed spend, SLA terms and the
 * table of quota lines (checked as you type). The server's field errors (problem+json
 * `errors[].path`) appear next to their field; other refusals above the form.
 */
export function ContractEditorPage() {
  const { tenantId = '', contractId } = useParams();
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  // `?asOf=YYYY-MM-DD`: the terms in force at the start of that UTC day.
  const asOf = params.get('asOf') ?? '';
  const asOfValid = asOf === '' || isDay(asOf);
  // What the API would refuse is not shown: as on every screen, the 404 page.
  const allowed = contractId
    ? can('read', 'Contract', tenantId)
    : can('create', 'Contract', tenantId);
  // A new contract's tenant must exist (platform admins may create in any tenant id).
  const tenant = useQuery({
    queryKey: ['tenant', tenantId],
    queryFn: () => api.get<Tenant>(`/v1/tenants/${tenantId}`),
    enabled: allowed && !contractId,
  });
  const existing = useQuery({
    queryKey: ['contract', tenantId, contractId, asOf],
    queryFn: () =>
      api.get<Contract>(`/v1/tenants/${tenantId}/contracts/${contractId}`, {
        asOf: asOf ? `${asOf}T00:00:00Z` : undefined,
      }),
    enabled: Boolean(contractId) && allowed && asOfValid,
  });
  if (!allowed) return <NotFoundPage what="contract" />;
  if (!contractId) {
    if (tenant.isPending) return <Loading label="Loading the tenant…" />;
    if (tenant.error) {
      if (isNotFound(tenant.error)) return <NotFoundPage what="tenant" />;
      return <ErrorState error={tenant.error} what="the tenant" />;
    }
  }
  if (!asOfValid)
    return (
      <>
        <Alert severity="error" role="alert" sx={{ my: 1 }}>
          The address&apos;s asOf parameter “{asOf}” is not a day: asOf takes a date as YYYY-MM-DD
          (UTC), such as 2027-03-31.
        </Alert>
        <Button onClick={() => setParams({})}>Show the terms in force now</Button>
      </>
    );
  if (contractId && existing.isPending) return <Loading label="Loading the contract…" />;
  if (contractId && existing.error) {
    if (isNotFound(existing.error)) return <NotFoundPage what="contract" />;
    return (
      <>
        <ErrorState
          error={existing.error}
          what={asOf ? `the terms as of ${asOf}` : 'the contract'}
        />
        {asOf && <Button onClick={() => setParams({})}>Show the terms in force now</Button>}
      </>
    );
  }
  const contract = existing.data;
  return (
    <>
      <Editor
        key={contract ? `${contract.id}-${contract.status}-${contract.version}-${asOf}` : 'new'}
        tenantId={tenantId}
        contract={contract}
        asOf={asOf}
      />
      {contract && contract.status !== 'draft' && (
        <Lifecycle
          tenantId={tenantId}
          contract={contract}
          asOf={asOf}
          onAsOf={(day) => setParams(day ? { asOf: day } : {})}
        />
      )}
    </>
  );
}

function Editor({
  tenantId,
  contract,
  asOf,
}: {
  tenantId: string;
  contract?: Contract;
  asOf: string;
}) {
  const { can } = useSession();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [form, setForm] = useState<ContractForm>(() => (contract ? formOf(contract) : emptyForm()));
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [amending, setAmending] = useState(false);
  const [amendment, setAmendment] = useState({ effectiveFrom: '', reason: '' });
  const editable = !contract || contract.status === 'draft';
  const mayWrite = contract
    ? can('update', 'Contract', tenantId)
    : can('create', 'Contract', tenantId);
  // An active contract changes only by amendment: its money, SLA and quota terms.
  const mayAmend = contract?.status === 'active' && !asOf && can('amend', 'Contract', tenantId);
  const readOnly = amending ? false : !editable || !mayWrite;
  const fixed = readOnly || amending;
  const liveErrors = useMemo(() => ({ ...lineErrors(form.lines), ...tierErrors(form) }), [form]);

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
  const updateTier = (index: number, patch: Partial<TierForm>) => {
    const tiers = form.tiers.map((tier, i) => (i === index ? { ...tier, ...patch } : tier));
    update(
      { tiers },
      Object.keys(patch).map((field) => `sla.creditTiers[${index}].${field}`),
    );
  };
  // Removing a row renumbers the rows after it: the server's errors about them no longer fit.
  const removeRow = (patch: Partial<ContractForm>, prefix: string) => {
    setForm((current) => ({ ...current, ...patch }));
    setServerErrors((current) =>
      Object.fromEntries(Object.entries(current).filter(([path]) => !path.startsWith(prefix))),
    );
  };

  const fail = (error: unknown) => {
    const { message, fields } = problemOf(error);
    // An amendment's field errors are under `changes.`: show them on the same fields.
    setServerErrors(
      Object.fromEntries(
        Object.entries(fields).map(([path, text]) => [path.replace(/^changes\./, ''), text]),
      ),
    );
    setProblem(message);
  };

  const save = useMutation({
    mutationFn: () => {
      if (amending) {
        const { committedSpendMinor, billingModel, sla, quotaLines } = bodyOf(form);
        return api.post<Contract>(`/v1/tenants/${tenantId}/contracts/${contract!.id}/amendments`, {
          effectiveFrom: amendment.effectiveFrom
            ? `${amendment.effectiveFrom}T00:00:00Z`
            : undefined,
          reason: amendment.reason.trim() || undefined,
          changes: { committedSpendMinor, billingModel, sla, quotaLines },
        });
      }
      return contract
        ? api.patch<Contract>(`/v1/tenants/${tenantId}/contracts/${contract.id}`, bodyOf(form))
        : api.post<Contract>(`/v1/tenants/${tenantId}/contracts`, bodyOf(form));
    },
    onMutate: () => {
      setProblem(null);
      setNotice(null);
    },
    onSuccess: async (saved) => {
      await queries.invalidateQueries({ queryKey: ['contracts', tenantId] });
      if (amending) {
        // The new version may take effect later: read the terms in force again.
        await queries.invalidateQueries({ queryKey: ['contract', tenantId, saved.id] });
        await queries.invalidateQueries({ queryKey: ['contract-versions', tenantId, saved.id] });
        await queries.invalidateQueries({ queryKey: ['quotas', tenantId] });
        // Show the terms in force now again (a version taking effect now remounts the editor).
        setForm(formOf(contract!));
        setAmending(false);
        setNotice('Amendment saved: a new version of the terms.');
        return;
      }
      queries.setQueryData(['contract', tenantId, saved.id, ''], saved);
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
      queries.setQueryData(['contract', tenantId, activated.id, ''], activated);
      await queries.invalidateQueries({ queryKey: ['contracts', tenantId] });
      await queries.invalidateQueries({ queryKey: ['quotas', tenantId] });
    },
    onError: fail,
  });

  const discard = useMutation({
    mutationFn: () => api.delete(`/v1/tenants/${tenantId}/contracts/${contract!.id}`),
    onMutate: () => setProblem(null),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ['contracts', tenantId] });
      navigate(`/tenants/${tenantId}`);
    },
    onError: fail,
  });

  const shownNotice =
    notice ??
    (contract?.status === 'active' ? `Contract ${contract.contractNumber} is active.` : null);

  const errorOf = (path: string) => liveErrors[path] ?? serverErrors[path];
  const field = (
    path: keyof ContractForm,
    serverPath: string = path,
    amendable = !['contractNumber', 'termStart', 'termEnd', 'currency'].includes(path),
  ) => ({
    value: form[path] as string,
    onChange: (event: { target: { value: string } }) =>
      update({ [path]: event.target.value } as Partial<ContractForm>, [serverPath]),
    error: Boolean(errorOf(serverPath)),
    helperText: errorOf(serverPath) ?? ' ',
    disabled: amendable ? readOnly : fixed,
    fullWidth: true,
  });

  /** A text or select field in a table row, labelled for its row (`Limit, line 2`). */
  const cellField = (
    path: string,
    value: string,
    onChange: (value: string) => void,
    label: string,
  ) => ({
    value,
    onChange: (event: { target: { value: string } }) => onChange(event.target.value),
    error: Boolean(errorOf(path)),
    helperText: errorOf(path) ?? ' ',
    disabled: readOnly,
    size: 'small' as const,
    fullWidth: true,
    // Text cells label their input; select cells their combobox.
    slotProps: {
      htmlInput: { 'aria-label': label },
      select: { SelectDisplayProps: { 'aria-label': label } },
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (Object.keys(liveErrors).length) {
      setProblem('Fix the fields marked in red first.');
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
      {contract && !editable && !amending && (
        <Alert
          severity="info"
          sx={{ mb: 2 }}
          action={
            mayAmend && (
              <Button color="inherit" onClick={() => setAmending(true)}>
                Amend terms
              </Button>
            )
          }
        >
          {asOf
            ? `The terms in force on ${asOf} (version ${contract.version}), read-only.`
            : `An ${contract.status} contract is not edited in place; its terms below are read-only.`}{' '}
          Activated {formatInstant(contract.activatedAt)}.
        </Alert>
      )}
      {amending && (
        <Paper variant="outlined" sx={{ p: 2, mb: 2 }} aria-labelledby="amendment-title">
          <Typography id="amendment-title" variant="h6" component="h2" gutterBottom>
            Amendment
          </Typography>
          <Typography variant="body2" gutterBottom>
            Change the money, SLA and quota terms below; they become a new version from the date you
            choose (empty: now). Term, number and currency stay.
          </Typography>
          <Grid container spacing={2}>
            <Grid size={{ xs: 12, md: 4 }}>
              <DateField
                label="Effective from (UTC)"
                value={amendment.effectiveFrom}
                onChange={(event) =>
                  setAmendment({ ...amendment, effectiveFrom: event.target.value })
                }
                error={Boolean(serverErrors.effectiveFrom)}
                helperText={serverErrors.effectiveFrom ?? ' '}
                fullWidth
              />
            </Grid>
            <Grid size={{ xs: 12, md: 8 }}>
              <TextField
                label="Reason"
                value={amendment.reason}
                onChange={(event) => setAmendment({ ...amendment, reason: event.target.value })}
                error={Boolean(serverErrors.reason)}
                helperText={serverErrors.reason ?? ' '}
                fullWidth
              />
            </Grid>
          </Grid>
        </Paper>
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
              <DateField label="Term start (UTC)" required {...field('termStart')} />
            </Grid>
            <Grid size={{ xs: 6, md: 4 }}>
              <DateField label="Term end (UTC, exclusive)" {...field('termEnd')} />
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
          <CreditTiers
            tiers={form.tiers}
            readOnly={readOnly}
            error={errorOf('sla.creditTiers')}
            onAdd={() => update({ tiers: [...form.tiers, newTier()] }, ['sla.creditTiers'])}
            onRemove={(i) =>
              removeRow({ tiers: form.tiers.filter((_, j) => j !== i) }, 'sla.creditTiers')
            }
            cell={(i, name, label) =>
              cellField(
                `sla.creditTiers[${i}].${name}`,
                form.tiers[i][name],
                (value) => updateTier(i, { [name]: value }),
                `${label}, tier ${i + 1}`,
              )
            }
          />
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
                  const cell = (name: keyof LineForm, label: string) =>
                    cellField(
                      `quotaLines[${i}].${name}`,
                      line[name] as string,
                      (value) => updateLine(i, { [name]: value }),
                      `${label}, line ${i + 1}`,
                    );
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
                      <RemoveCell
                        shown={!readOnly}
                        label={`Remove line ${i + 1}`}
                        onRemove={() =>
                          removeRow({ lines: form.lines.filter((_, j) => j !== i) }, 'quotaLines[')
                        }
                      />
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
              {save.isPending ? 'Saving…' : amending ? 'Save amendment' : 'Save draft'}
            </Button>
            {amending && (
              <Button
                onClick={() => {
                  setAmending(false);
                  setServerErrors({});
                  setProblem(null);
                  if (contract) setForm(formOf(contract));
                }}
              >
                Cancel
              </Button>
            )}
            {contract?.status === 'draft' && can('delete', 'Contract', tenantId) && (
              <Button color="error" onClick={() => discard.mutate()} disabled={discard.isPending}>
                Discard draft
              </Button>
            )}
            {contract && !amending && can('activate', 'Contract', tenantId) && (
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

/** The last cell of an editable table's row: its remove button, while the form is editable. */
function RemoveCell({
  shown,
  label,
  onRemove,
}: {
  shown: boolean;
  label: string;
  onRemove: () => void;
}) {
  return (
    <TableCell>
      {shown && (
        <IconButton aria-label={label} onClick={onRemove}>
          ×
        </IconButton>
      )}
    </TableCell>
  );
}

/**
 * The SLA's service-credit tiers: below a monthly availability, a percent of the month's
 * committed fee is credited. Each row's fields come from `cell` (value, checks, label).
 */
function CreditTiers({
  tiers,
  readOnly,
  error,
  onAdd,
  onRemove,
  cell,
}: {
  tiers: TierForm[];
  readOnly: boolean;
  error: string | undefined;
  onAdd: () => void;
  onRemove: (index: number) => void;
  cell: (index: number, name: 'below' | 'creditPercent', label: string) => TextFieldProps;
}) {
  return (
    <Box sx={{ mt: 1 }}>
      <Stack direction="row" sx={{ justifyContent: 'space-between', alignItems: 'center' }}>
        <Typography id="credit-tiers-title" variant="subtitle1" component="h3">
          Service credit tiers
        </Typography>
        {!readOnly && tiers.length < MAX_CREDIT_TIERS && (
          <Button onClick={onAdd}>Add credit tier</Button>
        )}
      </Stack>
      {error && (
        <Typography color="error" role="alert">
          {error}
        </Typography>
      )}
      {tiers.length === 0 ? (
        <Typography variant="body2" color="text.secondary">
          No credit tiers: a month below the target earns no service credit.
        </Typography>
      ) : (
        <TableContainer>
          <Table size="small" aria-labelledby="credit-tiers-title">
            <TableHead>
              <TableRow>
                <TableCell>Monthly availability below (%)</TableCell>
                <TableCell>Credit (% of the month&apos;s committed fee)</TableCell>
                <TableCell>
                  <span style={visuallyHidden}>Remove</span>
                </TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {tiers.map((tier, i) => (
                <TableRow key={tier.key}>
                  <TableCell>
                    <TextField inputMode="decimal" {...cell(i, 'below', 'Below %')} />
                  </TableCell>
                  <TableCell>
                    <TextField inputMode="numeric" {...cell(i, 'creditPercent', 'Credit %')} />
                  </TableCell>
                  <RemoveCell
                    shown={!readOnly}
                    label={`Remove tier ${i + 1}`}
                    onRemove={() => onRemove(i)}
                  />
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Box>
  );
}

interface ContractVersion {
  version: number;
  effectiveFrom: string;
  committedSpendMinor: number | null;
  quotaLines: { metric: string; limit: number; period: string }[];
  reason: string | null;
  createdAt: string;
}

/**
 * An active (or ended) contract's history and next steps: every version on a timeline, the
 * terms as of any day, renewal (a draft of the next term) and termination.
 */
function Lifecycle({
  tenantId,
  contract,
  asOf,
  onAsOf,
}: {
  tenantId: string;
  contract: Contract;
  asOf: string;
  onAsOf: (day: string) => void;
}) {
  const { can } = useSession();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const base = `/v1/tenants/${tenantId}/contracts/${contract.id}`;
  const [day, setDay] = useState(asOf);
  const [terminating, setTerminating] = useState(false);
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<{ message: string; fields: Record<string, string> }>();
  const versions = useQuery({
    queryKey: ['contract-versions', tenantId, contract.id],
    queryFn: () => api.get<Page<ContractVersion>>(`${base}/versions`, { limit: 100 }),
  });
  const renew = useMutation({
    mutationFn: () => api.post<Contract>(`${base}/renew`, {}),
    onMutate: () => setProblem(undefined),
    onSuccess: async (draft) => {
      await queries.invalidateQueries({ queryKey: ['contracts', tenantId] });
      navigate(`/tenants/${tenantId}/contracts/${draft.id}`);
    },
    onError: (error) => setProblem(problemOf(error)),
  });
  const terminate = useMutation({
    mutationFn: () => api.post<Contract>(`${base}/terminate`, { reason }),
    onMutate: () => setProblem(undefined),
    onSuccess: async () => {
      setTerminating(false);
      await queries.invalidateQueries({ queryKey: ['contract', tenantId, contract.id] });
      await queries.invalidateQueries({ queryKey: ['contracts', tenantId] });
      await queries.invalidateQueries({ queryKey: ['quotas', tenantId] });
    },
    onError: (error) => setProblem(problemOf(error)),
  });
  const showAsOf = (event: FormEvent) => {
    event.preventDefault();
    onAsOf(day);
  };
  return (
    <Paper
      component="section"
      variant="outlined"
      aria-labelledby="history-title"
      sx={{ p: 2, mt: 3 }}
    >
      <Typography id="history-title" variant="h6" component="h2" gutterBottom>
        History and next steps
      </Typography>
      {problem && !terminating && (
        <Alert severity="error" role="alert" sx={{ mb: 2 }}>
          {problem.message}
        </Alert>
      )}
      <Grid container spacing={3}>
        <Grid size={{ xs: 12, md: 6 }}>
          <Typography variant="subtitle1" component="h3" id="versions-title">
            Versions
          </Typography>
          <QueryView
            query={versions}
            what="versions"
            isEmpty={(page) => page.data.length === 0}
            empty="No version yet."
          >
            {(page) => (
              <Stepper orientation="vertical" nonLinear aria-labelledby="versions-title">
                {page.data.map((v) => (
                  <Step key={v.version} active completed={false}>
                    <StepLabel
                      optional={
                        <Typography variant="caption">
                          from {formatInstant(v.effectiveFrom)}
                        </Typography>
                      }
                    >
                      Version {v.version}
                      {v.version === contract.version ? ' (shown)' : ''}
                    </StepLabel>
                    <StepContent>
                      <Typography variant="body2">
                        {v.reason ?? (v.version === 1 ? 'As activated' : 'No reason given')}
                      </Typography>
                      <Typography variant="body2" color="text.secondary">
                        {v.quotaLines
                          .map((l) => `${l.metric} ${l.limit.toLocaleString('en')}/${l.period}`)
                          .join(', ') || 'no quota lines'}
                      </Typography>
                    </StepContent>
                  </Step>
                ))}
              </Stepper>
            )}
          </QueryView>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Box component="form" onSubmit={showAsOf} aria-label="Terms as of a day" sx={{ mb: 2 }}>
            <Stack direction="row" spacing={1} sx={{ alignItems: 'flex-start' }}>
              <DateField
                label="Terms as of (UTC)"
                size="small"
                value={day}
                onChange={(event) => setDay(event.target.value)}
              />
              <Button type="submit">Show</Button>
              {asOf && (
                <Button
                  onClick={() => {
                    setDay('');
                    onAsOf('');
                  }}
                >
                  Now
                </Button>
              )}
            </Stack>
          </Box>
          <Stack direction="row" spacing={2}>
            {can('renew', 'Contract', tenantId) && contract.status !== 'terminated' && (
              <Button variant="outlined" onClick={() => renew.mutate()} disabled={renew.isPending}>
                Renew
              </Button>
            )}
            {can('terminate', 'Contract', tenantId) && contract.status === 'active' && (
              <Button variant="outlined" color="error" onClick={() => setTerminating(true)}>
                Terminate
              </Button>
            )}
          </Stack>
        </Grid>
      </Grid>
      <Dialog
        open={terminating}
        onClose={() => setTerminating(false)}
        aria-labelledby="terminate-title"
      >
        <DialogTitle id="terminate-title">Terminate {contract.contractNumber}</DialogTitle>
        <DialogContent>
          <Typography gutterBottom>It ends now; this cannot be undone.</Typography>
          {problem && (
            <Alert severity="error" role="alert" sx={{ mb: 2 }}>
              {problem.message}
            </Alert>
          )}
          <TextField
            label="Reason"
            value={reason}
            onChange={(event) => setReason(event.target.value)}
            error={Boolean(problem?.fields.reason)}
            helperText={
              problem?.fields.reason ?? 'Recorded with the contract and in the audit log.'
            }
            fullWidth
            autoFocus
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setTerminating(false)}>Keep it</Button>
          <Button color="error" onClick={() => terminate.mutate()} disabled={terminate.isPending}>
            Terminate now
          </Button>
        </DialogActions>
      </Dialog>
    </Paper>
  );
}
