import {
  Box,
  Button,
  Chip,
  Grid,
  LinearProgress,
  Link,
  List,
  ListItem,
  ListItemText,
  Stack,
  Typography,
} from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link as RouterLink, useParams } from 'react-router-dom';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import {
  api,
  Contract,
  Page,
  problemOf,
  QuotaStatus,
  SamlConnection,
  SsoDomain,
  Tenant,
  UsageRows,
} from '../api';
import {
  Empty,
  ErrorState,
  formatInstant,
  isNotFound,
  Loading,
  QueryView,
  visuallyHidden,
} from '../components/states';
import { Panel, Term, Terms } from '../components/panel';
import { TENANT_SECTIONS } from '../components/sections';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

/**
 * A tenant at a glance: onboarding (status, compliance profile, SSO, domains), its contracts,
 * and quota usage. Each panel appears only when the API's rules let the caller read it.
 */
export function TenantPage() {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  const tenant = useQuery({
    queryKey: ['tenant', tenantId],
    queryFn: () => api.get<Tenant>(`/v1/tenants/${tenantId}`),
  });
  if (tenant.isPending) return <Loading label="Loading the tenant…" />;
  if (tenant.error) {
    if (isNotFound(tenant.error)) return <NotFoundPage what="tenant" />;
    return <ErrorState error={tenant.error} what="the tenant" />;
  }
  const t = tenant.data;
  const profile = t.complianceProfile;
  return (
    <Stack component="section" aria-labelledby="tenant-title" spacing={3}>
      <Box>
        <Typography id="tenant-title" variant="h4" component="h1">
          {t.name}
        </Typography>
        <Stack
          direction="row"
          spacing={1}
          useFlexGap
          sx={{ alignItems: 'center', flexWrap: 'wrap' }}
        >
          <Typography color="text.secondary">{t.slug}</Typography>
          <Chip size="small" label={`Status: ${t.status}`} aria-label={`Status: ${t.status}`} />
          {t.statusReason && <Typography variant="body2">({t.statusReason})</Typography>}
          {t.status === 'onboarding' && can('activate', 'Tenant', tenantId) && (
            <ActivateTenant tenantId={tenantId} />
          )}
          <Box sx={{ flexGrow: 1 }} />
          {TENANT_SECTIONS.filter((section) => section.visible(can, tenantId)).map((section) => (
            <Button key={section.label} component={RouterLink} to={section.path(tenantId)}>
              {section.label}
            </Button>
          ))}
        </Stack>
      </Box>
      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 6 }}>
          <Panel title="Compliance profile">
            <Terms>
              <Term name="Data classification" value={profile.dataClassification} />
              <Term name="Allowed regions" value={listOf(profile.allowedRegions)} />
              <Term name="Allowed data zones" value={listOf(profile.allowedDataZones)} />
              <Term name="Allowed model families" value={listOf(profile.allowedModelFamilies)} />
              <Term name="Required certifications" value={listOf(profile.requiredCertifications)} />
              <Term name="Audit retention" value={`${profile.auditRetentionDays} days`} />
              <Term name="Billing time zone" value={t.billingTimeZone} />
            </Terms>
          </Panel>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          {can('read', 'SamlConnection', tenantId) && <SsoPanel tenantId={tenantId} />}
          {can('read', 'SsoDomain', tenantId) && <DomainsPanel tenantId={tenantId} />}
        </Grid>
      </Grid>
      {can('read', 'Contract', tenantId) && <ContractsPanel tenantId={tenantId} />}
      {can('read', 'QuotaStatus', tenantId) && <QuotaPanel tenantId={tenantId} />}
    </Stack>
  );
}

/** Onboarding done: `POST .../activate` (the tenant's keys and people may then work). */
function ActivateTenant({ tenantId }: { tenantId: string }) {
  const queries = useQueryClient();
  const activate = useMutation({
    mutationFn: () => api.post<Tenant>(`/v1/tenants/${tenantId}/activate`, {}),
    onSuccess: (tenant) => queries.setQueryData(['tenant', tenantId], tenant),
  });
  return (
    <>
      <Button
        variant="outlined"
        size="small"
        onClick={() => activate.mutate()}
        disabled={activate.isPending}
      >
        Activate tenant
      </Button>
      {activate.error && (
        <Typography role="alert" color="error" variant="body2">
          {problemOf(activate.error).message}
        </Typography>
      )}
    </>
  );
}

const listOf = (values: string[]) => (values.length ? values.join(', ') : 'none');

function SsoPanel({ tenantId }: { tenantId: string }) {
  const connections = useQuery({
    queryKey: ['sso', tenantId],
    queryFn: () => api.get<Page<SamlConnection>>(`/v1/tenants/${tenantId}/sso/saml-connections`),
  });
  return (
    <Panel title="Single sign-on">
      <QueryView
        query={connections}
        what="SSO connections"
        isEmpty={(page) => page.data.length === 0}
        empty="No SAML connection yet: people of this tenant cannot sign in."
      >
        {(page) => (
          <List dense aria-label="SAML connections">
            {page.data.map((connection) => (
              <ListItem key={connection.id}>
                <ListItemText
                  primary={
                    <>
                      {connection.name}{' '}
                      <Chip
                        size="small"
                        color={connection.status === 'enabled' ? 'success' : 'default'}
                        label={connection.status}
                      />
                    </>
                  }
                  secondary={[connection.idpEntityId, ...connection.warnings].join(' · ')}
                />
              </ListItem>
            ))}
          </List>
        )}
      </QueryView>
    </Panel>
  );
}

function DomainsPanel({ tenantId }: { tenantId: string }) {
  const domains = useQuery({
    queryKey: ['domains', tenantId],
    queryFn: () => api.get<Page<SsoDomain>>(`/v1/tenants/${tenantId}/domains`),
  });
  return (
    <Panel title="Domains">
      <QueryView
        query={domains}
        what="domains"
        isEmpty={(page) => page.data.length === 0}
        empty="No domain claimed yet."
      >
        {(page) => (
          <List dense aria-label="Domains">
            {page.data.map((domain) => (
              <ListItem key={domain.id}>
                <ListItemText
                  primary={
                    <>
                      {domain.domain}{' '}
                      <Chip
                        size="small"
                        color={domain.status === 'verified' ? 'success' : 'warning'}
                        label={domain.status}
                      />
                    </>
                  }
                  secondary={
                    domain.status === 'verified'
                      ? `verified ${formatInstant(domain.verifiedAt)}`
                      : `publish TXT ${domain.txtRecordName} = ${domain.txtRecordValue}`
                  }
                />
              </ListItem>
            ))}
          </List>
        )}
      </QueryView>
    </Panel>
  );
}

function ContractsPanel({ tenantId }: { tenantId: string }) {
  const { can } = useSession();
  const contracts = useQuery({
    queryKey: ['contracts', tenantId],
    queryFn: () => api.get<Page<Contract>>(`/v1/tenants/${tenantId}/contracts`, { limit: 100 }),
  });
  return (
    <Panel
      title="Contracts"
      action={
        can('create', 'Contract', tenantId) && (
          <Button component={RouterLink} to={`/tenants/${tenantId}/contracts/new`}>
            New contract
          </Button>
        )
      }
    >
      <QueryView
        query={contracts}
        what="contracts"
        isEmpty={(page) => page.data.length === 0}
        empty="No contract yet."
      >
        {(page) => (
          <List dense aria-label="Contracts">
            {page.data.map((contract) => (
              <ListItem key={contract.id}>
                <ListItemText
                  primary={
                    <>
                      <Link
                        component={RouterLink}
                        to={`/tenants/${tenantId}/contracts/${contract.id}`}
                      >
                        {contract.contractNumber}
                      </Link>{' '}
                      <Chip size="small" label={contract.status} />
                    </>
                  }
                  secondary={`${formatInstant(contract.termStart)} → ${formatInstant(contract.termEnd)} · version ${contract.version} · ${contract.quotaLines.length} quota lines`}
                />
              </ListItem>
            ))}
          </List>
        )}
      </QueryView>
    </Panel>
  );
}

const DAY_MS = 86_400_000;
const compact = new Intl.NumberFormat('en', { notation: 'compact' });

function QuotaPanel({ tenantId }: { tenantId: string }) {
  const quotas = useQuery({
    queryKey: ['quotas', tenantId],
    queryFn: () => api.get<QuotaStatus>(`/v1/tenants/${tenantId}/quotas`),
  });
  return (
    <Panel title="Quota usage">
      <QueryView
        query={quotas}
        what="quota usage"
        isEmpty={(status) => !status.contract || status.data.length === 0}
        empty="No contract in force: no quota lines apply."
      >
        {(status) => (
          <Stack spacing={2}>
            <Typography variant="body2">
              Contract {status.contract!.contractNumber}, version {status.contract!.version}, as of{' '}
              {formatInstant(status.asOf)}
            </Typography>
            {status.data.map((line) => {
              const label = `${line.metric} per ${line.period} (${line.enforcement})`;
              return (
                <Box key={`${line.metric}-${line.period}`}>
                  <Stack direction="row" sx={{ justifyContent: 'space-between' }}>
                    <Typography id={`q-${line.metric}-${line.period}`}>{label}</Typography>
                    <Typography>
                      {line.used.toLocaleString('en')} of {line.limit.toLocaleString('en')} (
                      {line.percent}%){line.overage > 0 && `, overage ${line.overage}`}
                    </Typography>
                  </Stack>
                  <LinearProgress
                    variant="determinate"
                    value={Math.min(100, line.percent)}
                    color={
                      line.percent >= 100 ? 'error' : line.percent >= 80 ? 'warning' : 'primary'
                    }
                    aria-labelledby={`q-${line.metric}-${line.period}`}
                    aria-valuetext={`${line.percent}% used`}
                    sx={{ height: 10, borderRadius: 1 }}
                  />
                  <Typography variant="caption" color="text.secondary">
                    Period {formatInstant(line.periodStart)} to {formatInstant(line.periodEnd)}
                  </Typography>
                </Box>
              );
            })}
            <UsageChart tenantId={tenantId} />
          </Stack>
        )}
      </QueryView>
    </Panel>
  );
}

/** Daily usage over the last 30 days, one bar series per metric (`GET .../usage?groupBy=day`). */
function UsageChart({ tenantId }: { tenantId: string }) {
  // Whole UTC days up to the end of today, fixed when the chart mounts.
  const [{ from, to }] = useState(() => {
    const end = new Date(Math.ceil(Date.now() / DAY_MS) * DAY_MS);
    return { from: new Date(end.getTime() - 30 * DAY_MS), to: end };
  });
  const usage = useQuery({
    queryKey: ['usage', tenantId, from.toISOString()],
    queryFn: () =>
      api.get<UsageRows>(`/v1/tenants/${tenantId}/usage`, {
        from: from.toISOString(),
        to: to.toISOString(),
        groupBy: 'day',
      }),
  });
  if (usage.isPending) return <Loading label="Loading usage…" />;
  if (usage.error) return <ErrorState error={usage.error} what="usage" />;
  const metrics = [...new Set(usage.data.data.map((row) => row.metric))];
  const byDay = new Map<string, Record<string, number | string>>();
  for (const row of usage.data.data) {
    const day = row.day ?? '';
    const entry = byDay.get(day) ?? { day };
    entry[row.metric] = row.quantity;
    byDay.set(day, entry);
  }
  const data = [...byDay.values()].sort((a, b) => String(a.day).localeCompare(String(b.day)));
  const colors = ['#1f4e79', '#c0504d', '#9bbb59', '#8064a2', '#f79646', '#4bacc6'];
  return (
    <Box component="figure" sx={{ m: 0 }} aria-labelledby="usage-chart-title">
      <Typography id="usage-chart-title" component="figcaption" variant="subtitle1">
        Daily usage, last 30 days ({usage.data.timeZone})
      </Typography>
      {data.length === 0 ? (
        <Empty>No usage recorded in the last 30 days.</Empty>
      ) : (
        <>
          <Grid container spacing={2} aria-hidden>
            {/* One chart per metric: tokens and requests differ by orders of magnitude. */}
            {metrics.map((metric, i) => (
              <Grid key={metric} size={{ xs: 12, md: 6 }}>
                <Typography variant="body2">{metric}</Typography>
                <Box sx={{ height: 200 }}>
                  <ResponsiveContainer width="100%" height="100%">
                    <BarChart data={data}>
                      <CartesianGrid strokeDasharray="3 3" />
                      <XAxis dataKey="day" />
                      <YAxis width={56} tickFormatter={(value: number) => compact.format(value)} />
                      <Tooltip formatter={(value) => Number(value).toLocaleString('en')} />
                      <Bar dataKey={metric} name={metric} fill={colors[i % colors.length]} />
                    </BarChart>
                  </ResponsiveContainer>
                </Box>
              </Grid>
            ))}
          </Grid>
          {/* The same figures as text, for screen readers. */}
          <Box component="ul" sx={visuallyHidden}>
            {data.map((entry) => (
              <li key={String(entry.day)}>
                {String(entry.day)}:{' '}
                {metrics.map((metric) => `${metric} ${entry[metric] ?? 0}`).join(', ')}
              </li>
            ))}
          </Box>
        </>
      )}
    </Box>
  );
}
