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
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, CatalogModel, Endpoint, problemOf, Tenant } from '../api';
import { replicaErrors, ReplicasField } from './replicas-field';

/**
 * Deploys `model` on a new dedicated endpoint of the tenant (`POST .../endpoints`). Regions on
 * offer: those the catalog offers `baseModel` in that the tenant's compliance profile allows
 * (the API checks both again, and its refusal is shown here).
 */
export function DeployEndpointDialog({
  open,
  tenantId,
  model,
  baseModel,
  defaultName,
  onClose,
  onDeployed,
}: {
  open: boolean;
  tenantId: string;
  model: string;
  baseModel: string;
  defaultName: string;
  onClose: () => void;
  onDeployed: (endpoint: Endpoint) => void;
}) {
  const catalog = useQuery({
    queryKey: ['catalog-model', baseModel],
    queryFn: () => api.get<CatalogModel>(`/v1/catalog/models/${encodeURIComponent(baseModel)}`),
    enabled: open,
  });
  const tenant = useQuery({
    queryKey: ['tenant', tenantId],
    queryFn: () => api.get<Tenant>(`/v1/tenants/${tenantId}`),
    enabled: open,
  });
  const allowed = tenant.data?.complianceProfile.allowedRegions;
  const offered = (catalog.data?.regions ?? []).filter((r) => !allowed || allowed.includes(r));
  const [name, setName] = useState(defaultName);
  const [chosen, setRegion] = useState('');
  const [min, setMin] = useState('1');
  const [max, setMax] = useState('1');
  const region = chosen || offered[0] || '';
  const deploy = useMutation({
    mutationFn: () =>
      api.post<Endpoint>(`/v1/tenants/${tenantId}/endpoints`, {
        name,
        model,
        region,
        minReplicas: Number(min),
        maxReplicas: Number(max),
      }),
    onSuccess: onDeployed,
  });
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
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="deploy-title" maxWidth="sm" fullWidth>
      <form onSubmit={submit} aria-labelledby="deploy-title">
        <DialogTitle id="deploy-title">Deploy on a dedicated endpoint</DialogTitle>
        <DialogContent>
          <DialogContentText gutterBottom>
            Model <code>{model}</code>
          </DialogContentText>
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
              {...field('name', 'Lowercase letters, digits and "-".')}
            />
            <TextField
              select
              label="Region"
              value={region}
              onChange={(event) => setRegion(event.target.value)}
              {...field(
                'region',
                catalog.isPending || tenant.isPending
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
