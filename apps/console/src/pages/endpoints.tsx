import { Alert, Box, Button, Grid, Link, Stack, Typography } from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import { api, Endpoint, EndpointEvent, problemOf } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { DeployEndpointDialog } from '../components/deploy-endpoint-dialog';
import { PageSection } from '../components/page';
import { replicaErrors, ReplicasField } from '../components/replicas-field';
import { MoreButton, usePagedList } from '../components/paging';
import { Panel, Term, Terms } from '../components/panel';
import { ErrorState, formatInstant, isNotFound, Loading, QueryView } from '../components/states';
import { StatusChip } from '../components/status-chip';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

/**
 * What the endpoint state machine allows (libs/endpoints `endpoint-lifecycle.ts`, the API's one
 * table; the API still decides and answers 409 `illegal_endpoint_transition` otherwise).
 */
const STOPPABLE = new Set(['pending', 'provisioning', 'running', 'updating', 'degraded', 'failed']);
const STARTABLE = new Set(['stopped', 'failed']);
const FINAL = new Set(['stopping', 'deleting', 'deleted']);
/** Statuses the reconciler is still working on: the screen follows them. */
const UNDER_WAY = new Set(['pending', 'provisioning', 'updating', 'stopping', 'deleting']);
const FOLLOW_MS = 1500;

const replicasOf = (e: Endpoint) =>
  `${e.observed.readyReplicas} ready of ${e.desired.replicas} (min ${e.desired.minReplicas}, max ${e.desired.maxReplicas})`;

/**
 * The tenant's dedicated endpoints with their status; each opens its detail. Those who may
 * create endpoints deploy a catalog model on a new one from here.
 */
export function EndpointsPage() {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const readable = can('read', 'Endpoint', tenantId);
  const creatable = can('create', 'Endpoint', tenantId);
  const endpoints = usePagedList<Endpoint>(
    ['endpoints', tenantId],
    `/v1/tenants/${tenantId}/endpoints`,
    {
      enabled: readable,
      refetchInterval: (rows) => (rows.some((e) => UNDER_WAY.has(e.status)) ? FOLLOW_MS : false),
    },
  );
  if (!readable || (endpoints.error && isNotFound(endpoints.error)))
    return <NotFoundPage what="endpoints" />;
  return (
    <PageSection
      id="endpoints-title"
      title="Dedicated endpoints"
      back={{ to: `/tenants/${tenantId}`, label: 'Back to the tenant' }}
      actions={
        creatable && (
          <Button variant="contained" onClick={() => setCreating(true)}>
            New endpoint
          </Button>
        )
      }
    >
      <QueryView
        query={endpoints.view}
        what="endpoints"
        isEmpty={(rows) => rows.length === 0}
        empty="No dedicated endpoint yet."
      >
        {(rows) => (
          <DataTable
            label="Endpoints"
            rows={rows}
            rowKey={(e) => e.id}
            columns={[
              {
                header: 'Name',
                cell: (e) => (
                  <Link component={RouterLink} to={`/tenants/${tenantId}/endpoints/${e.id}`}>
                    {e.name}
                  </Link>
                ),
              },
              { header: 'Model', cell: (e) => e.model },
              { header: 'Region', cell: (e) => e.region },
              {
                header: 'Status',
                cell: (e) => (
                  <>
                    <StatusChip status={e.status} label={`Status of ${e.name}`} />
                    {e.statusReason && (
                      <Typography variant="caption" component="p">
                        {e.statusReason}
                      </Typography>
                    )}
                  </>
                ),
              },
              { header: 'Replicas', cell: replicasOf },
              { header: 'Created', cell: (e) => formatInstant(e.createdAt) },
            ]}
          />
        )}
      </QueryView>
      <MoreButton list={endpoints} label="More endpoints" />
      {creatable && (
        <DeployEndpointDialog
          open={creating}
          tenantId={tenantId}
          onClose={() => setCreating(false)}
          onDeployed={(endpoint) => navigate(`/tenants/${tenantId}/endpoints/${endpoint.id}`)}
        />
      )}
    </PageSection>
  );
}

/** One endpoint: its state, replicas and history; scale, stop and start where allowed. */
export function EndpointPage() {
  const { tenantId = '', endpointId = '' } = useParams();
  const { can } = useSession();
  const path = `/v1/tenants/${tenantId}/endpoints/${endpointId}`;
  const readable = can('read', 'Endpoint', tenantId);
  const endpoint = useQuery({
    queryKey: ['endpoint', tenantId, endpointId],
    queryFn: () => api.get<Endpoint>(path),
    enabled: readable,
    refetchInterval: (query) =>
      query.state.data && UNDER_WAY.has(query.state.data.status) ? FOLLOW_MS : false,
  });
  const underWay = endpoint.data ? UNDER_WAY.has(endpoint.data.status) : false;
  const events = usePagedList<EndpointEvent>(['endpoint-events', endpointId], `${path}/events`, {
    limit: 20,
    enabled: readable && endpoint.isSuccess,
    refetchInterval: () => (underWay ? FOLLOW_MS : false),
  });

  if (!readable) return <NotFoundPage what="endpoint" />;
  if (endpoint.isPending) return <Loading label="Loading the endpoint…" />;
  if (endpoint.error) {
    if (isNotFound(endpoint.error)) return <NotFoundPage what="endpoint" />;
    return <ErrorState error={endpoint.error} what="the endpoint" />;
  }
  const e = endpoint.data;
  return (
    <PageSection
      id="endpoint-title"
      title={`Endpoint ${e.name}`}
      back={{ to: `/tenants/${tenantId}/endpoints`, label: 'All endpoints' }}
      actions={<StatusChip status={e.status} label="Endpoint status" />}
    >
      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 7 }}>
          <Panel title="Overview">
            <Terms>
              <Term name="Model" value={e.model} />
              <Term name="Region" value={e.region} />
              <Term
                name="Status"
                value={e.statusReason ? `${e.status}: ${e.statusReason}` : e.status}
              />
              <Term name="Desired state" value={e.desired.state} />
              <Term name="Replicas" value={replicasOf(e)} />
              <Term
                name="Autoscaling"
                value={
                  e.desired.autoscaling
                    ? `${e.desired.autoscaling.targetConcurrentRequests} requests in flight per replica`
                    : 'off'
                }
              />
              <Term name="GPUs" value={`${e.gpusPerReplica} × ${e.gpuType} per replica`} />
              <Term name="GPU-hours recorded" value={e.gpuHoursRecorded} />
              <Term name="Gateway URL" value={e.url ? <code>{e.url}</code> : '—'} />
              <Term
                name="Generation"
                value={`${e.observed.generation ?? '—'} of ${e.desired.generation}`}
              />
              <Term name="Created" value={formatInstant(e.createdAt)} />
            </Terms>
          </Panel>
        </Grid>
        <Grid size={{ xs: 12, md: 5 }}>
          {(can('update', 'Endpoint', tenantId) ||
            can('stop', 'Endpoint', tenantId) ||
            can('start', 'Endpoint', tenantId)) && <EndpointActions path={path} endpoint={e} />}
        </Grid>
      </Grid>
      <Panel title="Replicas">
        {e.observed.replicaDetails.length === 0 ? (
          <Typography color="text.secondary">No replica is running.</Typography>
        ) : (
          <DataTable
            label="Replicas"
            rows={e.observed.replicaDetails}
            rowKey={(r) => r.id}
            columns={[
              { header: 'Replica', cell: (r) => <code>{r.id}</code> },
              {
                header: 'Ready',
                cell: (r) => (r.ready ? 'ready' : `not ready${r.detail ? `: ${r.detail}` : ''}`),
              },
              { header: 'Generation', cell: (r) => r.generation },
              { header: 'Started', cell: (r) => formatInstant(r.startedAt) },
            ]}
          />
        )}
      </Panel>
      <Panel title="Events">
        <QueryView
          query={events.view}
          what="events"
          isEmpty={(rows) => rows.length === 0}
          empty="No event yet."
        >
          {(rows) => (
            <DataTable
              label="Endpoint events"
              rows={rows}
              rowKey={(event) => event.id}
              columns={[
                { header: 'When', cell: (event) => formatInstant(event.createdAt) },
                { header: 'Event', cell: (event) => event.type },
                {
                  header: 'Status',
                  cell: (event) =>
                    event.toStatus ? `${event.fromStatus ?? '—'} → ${event.toStatus}` : '',
                },
                { header: 'Message', cell: (event) => event.message },
                { header: 'By', cell: (event) => event.actor ?? '—' },
              ]}
            />
          )}
        </QueryView>
        <MoreButton list={events} label="Older events" />
      </Panel>
    </PageSection>
  );
}

/** Scale (min and max replicas), stop and start, as far as the caller may and the status allows. */
function EndpointActions({ path, endpoint }: { path: string; endpoint: Endpoint }) {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  const queries = useQueryClient();
  const [min, setMin] = useState(String(endpoint.desired.minReplicas));
  const [max, setMax] = useState(String(endpoint.desired.maxReplicas));
  const [confirmStop, setConfirmStop] = useState(false);
  const [saved, setSaved] = useState(false);
  const done = (updated: Endpoint) => {
    queries.setQueryData(['endpoint', tenantId, endpoint.id], updated);
    void queries.invalidateQueries({ queryKey: ['endpoint-events', endpoint.id] });
    void queries.invalidateQueries({ queryKey: ['endpoints', tenantId] });
  };
  const scale = useMutation({
    mutationFn: () =>
      api.patch<Endpoint>(path, { minReplicas: Number(min), maxReplicas: Number(max) }),
    onMutate: () => setSaved(false),
    onSuccess: (updated) => {
      setSaved(true);
      done(updated);
    },
  });
  const stop = useMutation({
    mutationFn: () => api.post<Endpoint>(`${path}/stop`),
    onSuccess: (updated) => {
      setConfirmStop(false);
      done(updated);
    },
  });
  const start = useMutation({
    mutationFn: () => api.post<Endpoint>(`${path}/start`),
    onSuccess: done,
  });
  // Checked as typed; the server's field errors (of the last try) under the same fields.
  const live = replicaErrors(min, max);
  const serverFields = scale.error ? problemOf(scale.error).fields : {};
  const fields = { ...serverFields, ...live };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (Object.keys(live).length === 0) scale.mutate();
  };
  return (
    <Panel title="Run and scale">
      <Stack spacing={2}>
        {can('update', 'Endpoint', tenantId) && !FINAL.has(endpoint.status) && (
          <Box component="form" onSubmit={submit} aria-label="Scale">
            <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start' }}>
              <ReplicasField name="minReplicas" value={min} onChange={setMin} errors={fields} />
              <ReplicasField name="maxReplicas" value={max} onChange={setMax} errors={fields} />
              <Button type="submit" variant="outlined" disabled={scale.isPending}>
                Scale
              </Button>
            </Stack>
            {scale.error && !Object.keys(serverFields).length ? (
              <Alert severity="error" role="alert">
                {problemOf(scale.error).message}
              </Alert>
            ) : null}
            {saved && (
              <Typography role="status" variant="body2">
                Scaling asked: the reconciler applies it.
              </Typography>
            )}
          </Box>
        )}
        <Stack direction="row" spacing={2}>
          {can('stop', 'Endpoint', tenantId) && STOPPABLE.has(endpoint.status) && (
            <Button
              color="error"
              variant="outlined"
              onClick={() => {
                stop.reset();
                setConfirmStop(true);
              }}
            >
              Stop
            </Button>
          )}
          {can('start', 'Endpoint', tenantId) && STARTABLE.has(endpoint.status) && (
            <Button variant="contained" onClick={() => start.mutate()} disabled={start.isPending}>
              Start
            </Button>
          )}
        </Stack>
        {start.error && (
          <Alert severity="error" role="alert">
            {problemOf(start.error).message}
          </Alert>
        )}
      </Stack>
      <ConfirmDialog
        open={confirmStop}
        title={`Stop ${endpoint.name}?`}
        confirmLabel="Stop endpoint"
        pending={stop.isPending}
        error={stop.error}
        onConfirm={() => stop.mutate()}
        onClose={() => setConfirmStop(false)}
      >
        Its replicas are stopped and requests to it fail until it is started again; its GPUs are
        released.
      </ConfirmDialog>
    </Panel>
  );
}
