import {
  Alert,
  Box,
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControlLabel,
  FormGroup,
  FormLabel,
  Paper,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router-dom';
import { api, Page, problemOf } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { PageSection } from '../components/page';
import { formatInstant, isNotFound, QueryView } from '../components/states';
import { StatusChip } from '../components/status-chip';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

const TENANT_ROLES = ['tenant_admin', 'ml_engineer', 'compliance_officer', 'viewer'];

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  roles: string[];
  scopes: string[];
  status: 'active' | 'revoked' | 'expired';
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/**
 * The tenant's API keys: list, create (the secret is shown once, in a dialog, and never again),
 * revoke. Keys carry tenant roles and/or the `inference` scope (the gateway).
 */
export function ApiKeysPage() {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  const queries = useQueryClient();
  const [name, setName] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [inference, setInference] = useState(true);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const keys = useQuery({
    queryKey: ['api-keys', tenantId],
    queryFn: () => api.get<Page<ApiKey>>(`/v1/tenants/${tenantId}/api-keys`, { limit: 100 }),
    enabled: can('read', 'ApiKey', tenantId),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: ['api-keys', tenantId] });
  const fail = (error: unknown) => {
    const { message, fields } = problemOf(error);
    setFields(fields);
    setProblem(message);
  };
  const create = useMutation({
    mutationFn: () =>
      api.post<ApiKey & { key: string }>(`/v1/tenants/${tenantId}/api-keys`, {
        name,
        roles,
        scopes: inference ? ['inference'] : [],
      }),
    onMutate: () => {
      setProblem(null);
      setFields({});
    },
    onSuccess: async (created) => {
      setSecret({ name: created.name, key: created.key });
      setName('');
      setRoles([]);
      await refresh();
    },
    onError: fail,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.post(`/v1/tenants/${tenantId}/api-keys/${id}/revoke`),
    onSuccess: async () => {
      setRevoking(null);
      await refresh();
    },
  });

  if (!can('read', 'ApiKey', tenantId)) return <NotFoundPage what="API keys" />;
  if (keys.error && isNotFound(keys.error)) return <NotFoundPage what="API keys" />;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };

  return (
    <PageSection
      id="keys-title"
      title="API keys"
      back={{ to: `/tenants/${tenantId}`, label: 'Back to the tenant' }}
    >
      {problem && (
        <Alert severity="error" role="alert" sx={{ mb: 2 }}>
          {problem}
        </Alert>
      )}
      {can('create', 'ApiKey', tenantId) && (
        <Paper
          component="form"
          variant="outlined"
          onSubmit={submit}
          aria-labelledby="new-key-title"
          sx={{ p: 2, mb: 2 }}
        >
          <Typography id="new-key-title" variant="h6" component="h2" gutterBottom>
            Create a key
          </Typography>
          <Stack direction={{ xs: 'column', md: 'row' }} spacing={3}>
            <TextField
              label="Key name"
              value={name}
              onChange={(event) => setName(event.target.value)}
              error={Boolean(fields.name)}
              helperText={fields.name ?? 'Where it is used, e.g. "CI pipeline".'}
              required
            />
            <Box component="fieldset" sx={{ border: 0, p: 0, m: 0 }}>
              <FormLabel component="legend">Roles</FormLabel>
              <FormGroup row>
                {TENANT_ROLES.map((role) => (
                  <FormControlLabel
                    key={role}
                    label={role}
                    control={
                      <Checkbox
                        checked={roles.includes(role)}
                        onChange={(event) =>
                          setRoles(
                            event.target.checked
                              ? [...roles, role]
                              : roles.filter((r) => r !== role),
                          )
                        }
                      />
                    }
                  />
                ))}
              </FormGroup>
              {fields.roles && (
                <Typography color="error" variant="caption">
                  {fields.roles}
                </Typography>
              )}
            </Box>
            <FormControlLabel
              label="Inference (gateway)"
              control={
                <Checkbox
                  checked={inference}
                  onChange={(event) => setInference(event.target.checked)}
                />
              }
            />
          </Stack>
          <Button type="submit" variant="contained" disabled={create.isPending} sx={{ mt: 2 }}>
            Create key
          </Button>
        </Paper>
      )}
      <QueryView
        query={keys}
        what="API keys"
        isEmpty={(page) => page.data.length === 0}
        empty="No API key yet."
      >
        {(page) => (
          <DataTable
            label="API keys"
            rows={page.data}
            rowKey={(key) => key.id}
            columns={[
              { header: 'Name', cell: (key) => key.name },
              { header: 'Prefix', cell: (key) => <code>{key.prefix}…</code> },
              {
                header: 'Roles and scopes',
                cell: (key) => [...key.roles, ...key.scopes].join(', ') || '—',
              },
              { header: 'Status', cell: (key) => <StatusChip status={key.status} /> },
              { header: 'Last used', cell: (key) => formatInstant(key.lastUsedAt) },
              {
                header: 'Actions',
                cell: (key) =>
                  key.status === 'active' &&
                  can('revoke', 'ApiKey', tenantId) && (
                    <Button
                      color="error"
                      onClick={() => {
                        revoke.reset();
                        setRevoking(key);
                      }}
                      aria-label={`Revoke ${key.name}`}
                    >
                      Revoke
                    </Button>
                  ),
              },
            ]}
          />
        )}
      </QueryView>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking?.name ?? ''}?`}
        confirmLabel="Revoke key"
        pending={revoke.isPending}
        error={revoke.error}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
        onClose={() => setRevoking(null)}
      >
        Every request with this key ({revoking?.prefix}…) is refused from now on (at the gateway
        within a few seconds). A revoked key cannot be used again: whatever uses it needs a new key.
      </ConfirmDialog>
      <Dialog open={secret !== null} onClose={() => setSecret(null)} aria-labelledby="secret-title">
        <DialogTitle id="secret-title">Key {secret?.name} created</DialogTitle>
        <DialogContent>
          <DialogContentText gutterBottom>
            Copy the secret now: it is shown only once, and cannot be read again.
          </DialogContentText>
          <TextField
            label="Secret"
            value={secret?.key ?? ''}
            fullWidth
            slotProps={{ htmlInput: { readOnly: true } }}
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => void navigator.clipboard?.writeText(secret?.key ?? '')}>
            Copy
          </Button>
          <Button onClick={() => setSecret(null)}>Done</Button>
        </DialogActions>
      </Dialog>
    </PageSection>
  );
}
