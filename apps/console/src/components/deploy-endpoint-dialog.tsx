import {
  Alert,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  MenuItem,
  Stack,
  TextField,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { api, CatalogModel, Endpoint, Page, problemOf, Region, Tenant } from '../api';
import { deployableModels } from '../placement';
import { allPages } from './paging';
import { replicaErrors, ReplicasField } from './replicas-field';

/**
 * Creates a dedicated endpoint of the tenant (`POST .../endpoints`): of `model` when given (a
 * fine-tuning job's result), otherwise of a model chosen from the tenant's catalog. Only models
 * and regions the tenant's compliance profile allows are offered, the regions among those the
 * catalog offers the model in; the API checks both again, and its refusal is shown here, its
 * field errors under their fields.
 */
export function DeployEndpointDialog({
  open,
  tenantId,
  model: fixedModel,
  defaultName = '',
  onClose,
  onDeployed,
}: {
  open: boolean;
  tenantId: string;
  /** The model to deploy; without it the dialog offers the catalog's. */
  model?: string;
  defaultName?: string;
  onClose: () => void;
  onDeployed: (endpoint: Endpoint) => void;
}) {
  const titleId = useId();
  const queries = useQueryClient();
  const catalog = useQuery({
    queryKey: fixedModel ? ['catalog-model', fixedModel] : ['catalog-models'],
    queryFn: () =>
      fixedModel
        ? api
            .get<CatalogModel>(`/v1/catalog/models/${encodeURIComponent(fixedModel)}`)
            .then((model) => [model])
        : allPages<CatalogModel>('/v1/catalog/models'),
    enabled: open,
  });
  const tenant = useQuery({
    queryKey: ['tenant', tenantId],
    queryFn: () => api.get<Tenant>(`/v1/tenants/${tenantId}`),
    enabled: open,
  });
  // The operator's region catalog: one page holds it (the route's default and largest page).
  const regions = useQuery({
    queryKey: ['regions'],
    queryFn: () => api.get<Page<Region>>('/v1/regions', { limit: 100 }),
    enabled: open,
  });
  const loading = catalog.isPending || tenant.isPending || regions.isPending;
  const loadError = catalog.error ?? tenant.error ?? regions.error;
  const offers =
    catalog.data && tenant.data && regions.data
      ? deployableModels(tenantId, tenant.data.complianceProfile, catalog.data, regions.data.data)
      : [];

  const [name, setName] = useState(defaultName);
  const [chosenModel, setModel] = useState('');
  const [chosenRegion, setRegion] = useState('');
  const [min, setMin] = useState('1');
  const [max, setMax] = useState('1');
  const model = fixedModel ?? (chosenModel || offers[0]?.model.id || '');
  const offered = offers.find((offer) => offer.model.id === model)?.regions ?? [];
  const region = offered.includes(chosenRegion) ? chosenRegion : (offered[0] ?? '');

  const deploy = useMutation({
    mutationFn: () =>
      api.post<Endpoint>(`/v1/tenants/${tenantId}/endpoints`, {
        name,
        model,
        region,
        minReplicas: Number(min),
        maxReplicas: Number(max),
      }),
    onSuccess: (endpoint) => {
      void queries.invalidateQueries({ queryKey: ['endpoints', tenantId] });
      onDeployed(endpoint);
    },
  });
  // Checked as typed; the server's field errors (of the last try) under the same fields.
  const live = replicaErrors(min, max);
  const fields = { ...(deploy.error ? problemOf(deploy.error).fields : {}), ...live };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (Object.keys(live).length === 0) deploy.mutate();
  };
  const field = (name: string, helper: string) => ({
    error: Boolean(fields[name]),
    helperText: fields[name] ?? helper,
    fullWidth: true,
    required: true,
  });
  const title = fixedModel ? 'Deploy on a dedicated endpoint' : 'New dedicated endpoint';
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby={titleId} maxWidth="sm" fullWidth>
      <form onSubmit={submit} aria-labelledby={titleId}>
        <DialogTitle id={titleId}>{title}</DialogTitle>
        <DialogContent>
          {fixedModel && (
            <DialogContentText gutterBottom>
              Model <code>{fixedModel}</code>
            </DialogContentText>
          )}
          {loadError ? (
            <Alert severity="error" role="alert" sx={{ mb: 2 }}>
              The catalog could not be loaded: {problemOf(loadError).message}
            </Alert>
          ) : null}
          {deploy.error ? (
            <Alert severity="error" role="alert" sx={{ mb: 2 }}>
              {problemOf(deploy.error).message}
            </Alert>
          ) : null}
          <Stack spacing={2} sx={{ mt: 1 }}>
            <TextField
              label="Endpoint name"
              value={name}
              onChange={(event) => setName(event.target.value)}
              autoFocus
              {...field('name', 'Lowercase letters, digits and "-".')}
            />
            {!fixedModel && (
              <TextField
                select
                label="Model"
                value={model}
                onChange={(event) => setModel(event.target.value)}
                {...field(
                  'model',
                  loading
                    ? 'Loading the catalog…'
                    : offers.length
                      ? 'The catalog’s models the compliance profile allows.'
                      : 'No model of the catalog is allowed by the compliance profile.',
                )}
              >
                {offers.map(({ model: m }) => (
                  <MenuItem key={m.id} value={m.id}>
                    {m.id} ({m.modality})
                  </MenuItem>
                ))}
              </TextField>
            )}
            <TextField
              select
              label="Region"
              value={region}
              onChange={(event) => setRegion(event.target.value)}
              {...field(
                'region',
                loading
                  ? 'Loading the regions…'
                  : offered.length
                    ? 'Where the catalog offers the model and the compliance profile allows.'
                    : 'No region offers this model within the compliance profile.',
              )}
            >
              {offered.map((code) => (
                <MenuItem key={code} value={code}>
                  {code}
                </MenuItem>
              ))}
            </TextField>
            <Stack direction="row" spacing={2}>
              <ReplicasField name="minReplicas" value={min} onChange={setMin} errors={fields} />
              <ReplicasField name="maxReplicas" value={max} onChange={setMax} errors={fields} />
            </Stack>
          </Stack>
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={deploy.isPending || !region}>
            {deploy.isPending ? 'Deploying…' : 'Deploy'}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
