import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  Grid,
  List,
  ListItem,
  ListItemText,
  MenuItem,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link as RouterLink, useParams } from 'react-router-dom';
import { api, Page, problemOf, SamlConnection, SsoDomain } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { formatInstant, isNotFound, QueryView } from '../components/states';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

const TENANT_ROLES = ['tenant_admin', 'ml_engineer', 'compliance_officer', 'viewer'];
const PRESETS = ['okta', 'entra', 'google', 'adfs'];

/**
 * An enterprise admin onboards single sign-on: proves the email domain (the TXT record to
 * publish, then verify), registers the IdP from its metadata with group-to-role rules, tests
 * the connection and enables it. Our SP's URLs are shown for copying into the IdP.
 */
export function SsoSetupPage() {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  if (!can('read', 'SamlConnection', tenantId) && !can('read', 'SsoDomain', tenantId))
    return <NotFoundPage what="SSO settings" />;
  return (
    <Box component="section" aria-labelledby="sso-title">
      <Stack direction="row" sx={{ mb: 2, alignItems: 'center' }}>
        <Typography id="sso-title" variant="h4" component="h1" sx={{ flexGrow: 1 }}>
          Single sign-on
        </Typography>
        <Button component={RouterLink} to={`/tenants/${tenantId}`}>
          Back to the tenant
        </Button>
      </Stack>
      {can('read', 'SsoDomain', tenantId) && <DomainsCard tenantId={tenantId} />}
      {can('read', 'SamlConnection', tenantId) && <ConnectionsCard tenantId={tenantId} />}
    </Box>
  );
}

function DomainsCard({ tenantId }: { tenantId: string }) {
  const { can } = useSession();
  const queries = useQueryClient();
  const [domain, setDomain] = useState('');
  const [problem, setProblem] = useState<{ message: string; fields: Record<string, string> }>();
  const domains = useQuery({
    queryKey: ['domains', tenantId],
    queryFn: () => api.get<Page<SsoDomain>>(`/v1/tenants/${tenantId}/domains`),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: ['domains', tenantId] });
  const claim = useMutation({
    mutationFn: () => api.post<SsoDomain>(`/v1/tenants/${tenantId}/domains`, { domain }),
    onMutate: () => setProblem(undefined),
    onSuccess: async () => {
      setDomain('');
      await refresh();
    },
    onError: (error) => setProblem(problemOf(error)),
  });
  const verify = useMutation({
    mutationFn: (id: string) => api.post<SsoDomain>(`/v1/tenants/${tenantId}/domains/${id}/verify`),
    onMutate: () => setProblem(undefined),
    onSuccess: refresh,
    onError: (error) => setProblem(problemOf(error)),
  });
  if (domains.error && isNotFound(domains.error)) return <NotFoundPage what="domains" />;
  return (
    <Card component="section" aria-labelledby="domains-title" variant="outlined" sx={{ mb: 2 }}>
      <CardContent>
        <Typography id="domains-title" variant="h6" component="h2" gutterBottom>
          Domains
        </Typography>
        {problem && (
          <Alert severity="error" role="alert" sx={{ mb: 2 }}>
            {problem.message}
          </Alert>
        )}
        <QueryView
          query={domains}
          what="domains"
          isEmpty={(page) => page.data.length === 0}
          empty="No domain claimed yet. People sign in only with emails of verified domains."
        >
          {(page) => (
            <List dense aria-label="Domains">
              {page.data.map((d) => (
                <ListItem
                  key={d.id}
                  secondaryAction={
                    d.status !== 'verified' &&
                    can('verify', 'SsoDomain', tenantId) && (
                      <Button
                        onClick={() => verify.mutate(d.id)}
                        disabled={verify.isPending}
                        aria-label={`Verify ${d.domain}`}
                      >
                        Verify
                      </Button>
                    )
                  }
                >
                  <ListItemText
                    primary={
                      <>
                        {d.domain}{' '}
                        <Chip
                          size="small"
                          label={d.status}
                          color={d.status === 'verified' ? 'success' : 'warning'}
                        />
                      </>
                    }
                    secondary={
                      d.status === 'verified' ? (
                        `verified ${formatInstant(d.verifiedAt)}`
                      ) : (
                        <>
                          Publish this TXT record at your DNS provider, then verify:{' '}
                          <code>{d.txtRecordName}</code> = <code>{d.txtRecordValue}</code>
                        </>
                      )
                    }
                  />
                </ListItem>
              ))}
            </List>
          )}
        </QueryView>
        {can('create', 'SsoDomain', tenantId) && (
          <Box
            component="form"
            aria-label="Claim a domain"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              claim.mutate();
            }}
            sx={{ display: 'flex', gap: 2, mt: 1 }}
          >
            <TextField
              label="Domain"
              placeholder="corp.example.com"
              size="small"
              value={domain}
              onChange={(event) => setDomain(event.target.value)}
              error={Boolean(problem?.fields.domain)}
              helperText={problem?.fields.domain ?? ' '}
            />
            <Box>
              <Button type="submit" variant="contained" disabled={claim.isPending}>
                Claim domain
              </Button>
            </Box>
          </Box>
        )}
      </CardContent>
    </Card>
  );
}

interface ConnectionView extends SamlConnection {
  roleRules: { group: string; role: string }[];
  defaultRole: string | null;
  serviceProvider: { entityId: string; acsUrl: string; metadataUrl: string; loginUrl: string };
}

interface TestResult {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

function ConnectionsCard({ tenantId }: { tenantId: string }) {
  const { can } = useSession();
  const queries = useQueryClient();
  const [problem, setProblem] = useState<{ message: string; fields: Record<string, string> }>();
  const [tests, setTests] = useState<Record<string, TestResult>>({});
  const [disabling, setDisabling] = useState<ConnectionView | null>(null);
  const connections = useQuery({
    queryKey: ['sso', tenantId],
    queryFn: () => api.get<Page<ConnectionView>>(`/v1/tenants/${tenantId}/sso/saml-connections`),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: ['sso', tenantId] });
  const disable = useMutation({
    mutationFn: (id: string) =>
      api.post<ConnectionView>(`/v1/tenants/${tenantId}/sso/saml-connections/${id}/disable`),
    onSuccess: async () => {
      setDisabling(null);
      await refresh();
    },
  });
  const action = useMutation({
    mutationFn: ({ id, verb }: { id: string; verb: 'enable' | 'test' }) =>
      api.post<ConnectionView | TestResult>(
        `/v1/tenants/${tenantId}/sso/saml-connections/${id}/${verb}`,
      ),
    onMutate: () => setProblem(undefined),
    onSuccess: async (result, { id, verb }) => {
      if (verb === 'test') setTests((current) => ({ ...current, [id]: result as TestResult }));
      else await refresh();
    },
    onError: (error) => setProblem(problemOf(error)),
  });
  return (
    <Card component="section" aria-labelledby="connections-title" variant="outlined" sx={{ mb: 2 }}>
      <CardContent>
        <Typography id="connections-title" variant="h6" component="h2" gutterBottom>
          SAML connections
        </Typography>
        {problem && (
          <Alert severity="error" role="alert" sx={{ mb: 2 }}>
            {problem.message}
          </Alert>
        )}
        <QueryView
          query={connections}
          what="SAML connections"
          isEmpty={(page) => page.data.length === 0}
          empty="No connection yet."
        >
          {(page) => (
            <Stack spacing={2}>
              {page.data.map((c) => (
                <Box
                  key={c.id}
                  component="article"
                  aria-label={`Connection ${c.name}`}
                  sx={{ border: 1, borderColor: 'divider', borderRadius: 1, p: 2 }}
                >
                  <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                    <Typography variant="subtitle1" component="h3" sx={{ flexGrow: 1 }}>
                      {c.name}{' '}
                      <Chip
                        size="small"
                        label={c.status}
                        color={c.status === 'enabled' ? 'success' : 'default'}
                      />
                    </Typography>
                    {can('test', 'SamlConnection', tenantId) && (
                      <Button onClick={() => action.mutate({ id: c.id, verb: 'test' })}>
                        Test
                      </Button>
                    )}
                    {c.status === 'enabled'
                      ? can('disable', 'SamlConnection', tenantId) && (
                          <Button onClick={() => setDisabling(c)}>Disable</Button>
                        )
                      : can('enable', 'SamlConnection', tenantId) && (
                          <Button onClick={() => action.mutate({ id: c.id, verb: 'enable' })}>
                            Enable
                          </Button>
                        )}
                  </Stack>
                  <Typography variant="body2">IdP: {c.idpEntityId}</Typography>
                  <Typography variant="body2">
                    Role rules:{' '}
                    {c.roleRules.length
                      ? c.roleRules.map((r) => `${r.group} → ${r.role}`).join(', ')
                      : 'none'}
                    {c.defaultRole ? `; default ${c.defaultRole}` : ''}
                  </Typography>
                  {c.warnings.map((warning) => (
                    <Alert key={warning} severity="warning" sx={{ mt: 1 }}>
                      {warning}
                    </Alert>
                  ))}
                  <ServiceProvider sp={c.serviceProvider} />
                  {tests[c.id] && (
                    <Box role="status" aria-label={`Test of ${c.name}`} sx={{ mt: 1 }}>
                      <Typography color={tests[c.id].ok ? 'success.main' : 'error'}>
                        {tests[c.id].ok ? 'The connection works.' : 'The connection has problems:'}
                      </Typography>
                      <List dense>
                        {tests[c.id].checks.map((check) => (
                          <ListItem key={check.name}>
                            <ListItemText
                              primary={`${check.ok ? '✓' : '✗'} ${check.name}`}
                              secondary={check.detail}
                            />
                          </ListItem>
                        ))}
                      </List>
                    </Box>
                  )}
                </Box>
              ))}
            </Stack>
          )}
        </QueryView>
        {can('create', 'SamlConnection', tenantId) && (
          <NewConnection tenantId={tenantId} onCreated={refresh} />
        )}
        <ConfirmDialog
          open={disabling !== null}
          title={`Disable ${disabling?.name ?? ''}?`}
          confirmLabel="Disable connection"
          pending={disable.isPending}
          error={disable.error}
          onConfirm={() => disabling && disable.mutate(disabling.id)}
          onClose={() => setDisabling(null)}
        >
          Nobody can sign in through it from now on, you included: every new sign-in to this tenant
          by single sign-on is refused until a connection is enabled again. Sessions already open go
          on until they end, and API keys keep working.
        </ConfirmDialog>
      </CardContent>
    </Card>
  );
}

/** What to enter at the IdP, each with a copy button. */
function ServiceProvider({ sp }: { sp: ConnectionView['serviceProvider'] }) {
  const rows: [string, string][] = [
    ['SP metadata URL', sp.metadataUrl],
    ['Entity ID (audience)', sp.entityId],
    ['ACS URL (HTTP-POST)', sp.acsUrl],
  ];
  return (
    <Box component="dl" sx={{ m: 0, mt: 1 }}>
      {rows.map(([name, value]) => (
        <Stack key={name} direction="row" spacing={1} sx={{ alignItems: 'center' }}>
          <Typography component="dt" variant="body2" sx={{ fontWeight: 600, minWidth: 180 }}>
            {name}
          </Typography>
          <Typography component="dd" variant="body2" sx={{ m: 0, wordBreak: 'break-all' }}>
            <code>{value}</code>
          </Typography>
          <Button
            size="small"
            aria-label={`Copy ${name}`}
            onClick={() => void navigator.clipboard?.writeText(value)}
          >
            Copy
          </Button>
        </Stack>
      ))}
    </Box>
  );
}

function NewConnection({ tenantId, onCreated }: { tenantId: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [metadataXml, setMetadataXml] = useState('');
  const [preset, setPreset] = useState('okta');
  const [rules, setRules] = useState<{ group: string; role: string }[]>([
    { group: '', role: 'viewer' },
  ]);
  const [problem, setProblem] = useState<{ message: string; fields: Record<string, string> }>();
  const create = useMutation({
    mutationFn: () =>
      api.post(`/v1/tenants/${tenantId}/sso/saml-connections`, {
        name,
        metadataXml,
        attributeMapping: { preset },
        roleRules: rules.filter((rule) => rule.group.trim() !== ''),
      }),
    onMutate: () => setProblem(undefined),
    onSuccess: () => {
      setName('');
      setMetadataXml('');
      setRules([{ group: '', role: 'viewer' }]);
      onCreated();
    },
    onError: (error) => setProblem(problemOf(error)),
  });
  const readFile = async (file: File | undefined) => {
    if (file) setMetadataXml(await file.text());
  };
  const fieldError = (path: string) => problem?.fields[path];
  return (
    <Box
      component="form"
      aria-labelledby="new-connection-title"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        create.mutate();
      }}
      sx={{ mt: 3 }}
    >
      <Typography id="new-connection-title" variant="subtitle1" component="h3" gutterBottom>
        Add a connection from your IdP's metadata
      </Typography>
      {problem && (
        <Alert severity="error" role="alert" sx={{ mb: 2 }}>
          {problem.message}
        </Alert>
      )}
      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 6 }}>
          <TextField
            label="Connection name"
            value={name}
            onChange={(event) => setName(event.target.value)}
            error={Boolean(fieldError('name'))}
            helperText={fieldError('name') ?? ' '}
            fullWidth
            required
          />
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <TextField
            select
            label="Attribute mapping preset"
            value={preset}
            onChange={(event) => setPreset(event.target.value)}
            helperText=" "
            fullWidth
          >
            {PRESETS.map((p) => (
              <MenuItem key={p} value={p}>
                {p}
              </MenuItem>
            ))}
          </TextField>
        </Grid>
        <Grid size={12}>
          <Button component="label" variant="outlined" sx={{ mb: 1 }}>
            Upload IdP metadata file
            <input
              type="file"
              accept=".xml,application/xml,text/xml"
              hidden
              onChange={(event) => void readFile(event.target.files?.[0])}
            />
          </Button>
          <TextField
            label="IdP metadata XML"
            value={metadataXml}
            onChange={(event) => setMetadataXml(event.target.value)}
            error={Boolean(fieldError('metadataXml'))}
            helperText={fieldError('metadataXml') ?? 'Paste it, or upload the file above.'}
            multiline
            minRows={3}
            maxRows={8}
            fullWidth
          />
        </Grid>
        <Grid size={12}>
          <Typography variant="body2" gutterBottom>
            Group-to-role rules (the highest role of the matching groups wins)
          </Typography>
          {rules.map((rule, i) => (
            <Stack key={i} direction="row" spacing={1} sx={{ mb: 1 }}>
              <TextField
                size="small"
                label={`IdP group, rule ${i + 1}`}
                value={rule.group}
                onChange={(event) =>
                  setRules(rules.map((r, j) => (j === i ? { ...r, group: event.target.value } : r)))
                }
                error={Boolean(fieldError(`roleRules[${i}].group`))}
                helperText={fieldError(`roleRules[${i}].group`)}
              />
              <TextField
                select
                size="small"
                label={`Role, rule ${i + 1}`}
                value={rule.role}
                onChange={(event) =>
                  setRules(rules.map((r, j) => (j === i ? { ...r, role: event.target.value } : r)))
                }
                sx={{ minWidth: 200 }}
              >
                {TENANT_ROLES.map((role) => (
                  <MenuItem key={role} value={role}>
                    {role}
                  </MenuItem>
                ))}
              </TextField>
            </Stack>
          ))}
          <Button onClick={() => setRules([...rules, { group: '', role: 'viewer' }])}>
            Add rule
          </Button>
        </Grid>
      </Grid>
      <Button type="submit" variant="contained" disabled={create.isPending} sx={{ mt: 2 }}>
        Add connection
      </Button>
    </Box>
  );
}
