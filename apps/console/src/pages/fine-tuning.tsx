import { Alert, Button, FormControlLabel, Grid, Link, Switch, Typography } from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import {
  api,
  FineTuningCheckpoint,
  FineTuningEvent,
  FineTuningJob,
  OpenAiList,
  problemOf,
} from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { DeployEndpointDialog } from '../components/deploy-endpoint-dialog';
import { LossCurve } from '../components/loss-curve';
import { PageSection } from '../components/page';
import { allPages, MoreButton, usePagedList } from '../components/paging';
import { Panel, Term, Terms } from '../components/panel';
import { ErrorState, formatInstant, isNotFound, Loading, QueryView } from '../components/states';
import { StatusChip } from '../components/status-chip';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

const UNFINISHED = new Set(['validating_files', 'queued', 'running']);
const FOLLOW_MS = 2000;
/** At most this many events are read for the loss curve (100 a page). */
const MAX_EVENT_PAGES = 100;
const EVENTS_SHOWN = 50;

/** Unix seconds (OpenAI's times) as the console shows instants. */
const unixTime = (seconds: number | null) =>
  seconds === null ? '—' : formatInstant(new Date(seconds * 1000).toISOString());

/**
 * The staff read routes (`/v1/tenants/{id}/fine_tuning/jobs`) also serve the tenant's own
 * people; only cancelling goes through the tenant's OpenAI route, `/v1/fine_tuning/jobs`.
 */
const jobsOf = (tenantId: string) => `/v1/tenants/${tenantId}/fine_tuning/jobs`;

/** The tenant's fine-tuning jobs, newest first. */
export function FineTuningJobsPage() {
  const { tenantId = '' } = useParams();
  const { can } = useSession();
  const readable = can('read', 'FineTuningJob', tenantId);
  const jobs = usePagedList<FineTuningJob>(['ft-jobs', tenantId], jobsOf(tenantId), {
    enabled: readable,
    refetchInterval: (rows) => (rows.some((job) => UNFINISHED.has(job.status)) ? FOLLOW_MS : false),
  });
  if (!readable || (jobs.error && isNotFound(jobs.error)))
    return <NotFoundPage what="fine-tuning jobs" />;
  return (
    <PageSection
      id="ft-title"
      title="Fine-tuning jobs"
      back={{ to: `/tenants/${tenantId}`, label: 'Back to the tenant' }}
    >
      <QueryView
        query={jobs.view}
        what="fine-tuning jobs"
        isEmpty={(rows) => rows.length === 0}
        empty="No fine-tuning job yet (they are created through the OpenAI-compatible API)."
      >
        {(rows) => (
          <DataTable
            label="Fine-tuning jobs"
            rows={rows}
            rowKey={(job) => job.id}
            columns={[
              {
                header: 'Job',
                cell: (job) => (
                  <Link component={RouterLink} to={`/tenants/${tenantId}/fine-tuning/${job.id}`}>
                    {job.suffix ? `${job.suffix} (${job.id})` : job.id}
                  </Link>
                ),
              },
              { header: 'Base model', cell: (job) => job.model },
              {
                header: 'Status',
                cell: (job) => <StatusChip status={job.status} label={`Status of ${job.id}`} />,
              },
              { header: 'Fine-tuned model', cell: (job) => job.fine_tuned_model ?? '—' },
              { header: 'Created', cell: (job) => unixTime(job.created_at) },
              { header: 'Finished', cell: (job) => unixTime(job.finished_at) },
            ]}
          />
        )}
      </QueryView>
      <MoreButton list={jobs} label="More jobs" />
    </PageSection>
  );
}

/** Every event of a job, newest first, page after page (OpenAI paging: after the last id). */
const allEvents = (path: string) =>
  allPages<FineTuningEvent>(`${path}/events`, { maxPages: MAX_EVENT_PAGES });

/** One job: status, the loss curve, checkpoints and events; cancel it, deploy its model. */
export function FineTuningJobPage() {
  const { tenantId = '', jobId = '' } = useParams();
  const { can, me } = useSession();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const path = `${jobsOf(tenantId)}/${jobId}`;
  const readable = can('read', 'FineTuningJob', tenantId);
  const follow = (status?: string) => (status && UNFINISHED.has(status) ? FOLLOW_MS : false);
  const job = useQuery({
    queryKey: ['ft-job', tenantId, jobId],
    queryFn: () => api.get<FineTuningJob>(path),
    enabled: readable,
    refetchInterval: (query) => follow(query.state.data?.status),
  });
  const status = job.data?.status;
  const events = useQuery({
    queryKey: ['ft-events', tenantId, jobId],
    queryFn: () => allEvents(path),
    enabled: job.isSuccess,
    refetchInterval: follow(status),
  });
  const checkpoints = useQuery({
    queryKey: ['ft-checkpoints', tenantId, jobId],
    queryFn: () => api.get<OpenAiList<FineTuningCheckpoint>>(`${path}/checkpoints`, { limit: 100 }),
    enabled: job.isSuccess,
    refetchInterval: follow(status),
  });
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [deploying, setDeploying] = useState(false);
  const [steps, setSteps] = useState(false);
  const [shown, setShown] = useState(EVENTS_SHOWN);
  const cancel = useMutation({
    mutationFn: () =>
      api.post<FineTuningJob>(`/v1/fine_tuning/jobs/${encodeURIComponent(jobId)}/cancel`),
    onSuccess: (updated) => {
      setConfirmCancel(false);
      queries.setQueryData(['ft-job', tenantId, jobId], updated);
      void queries.invalidateQueries({ queryKey: ['ft-events', tenantId, jobId] });
    },
  });

  if (!readable) return <NotFoundPage what="fine-tuning job" />;
  if (job.isPending) return <Loading label="Loading the job…" />;
  if (job.error) {
    if (isNotFound(job.error)) return <NotFoundPage what="fine-tuning job" />;
    return <ErrorState error={job.error} what="the job" />;
  }
  const j = job.data;
  // Cancelling is the tenant's own route (the tenant comes from the caller), so only its people.
  const cancellable =
    UNFINISHED.has(j.status) &&
    !j.cancel_requested &&
    me.tenantId === tenantId &&
    can('cancel', 'FineTuningJob', tenantId);
  const deployable =
    j.status === 'succeeded' && j.fine_tuned_model !== null && can('create', 'Endpoint', tenantId);
  const totalSteps = events.data?.find((e) => typeof e.data?.total_steps === 'number')?.data
    ?.total_steps;
  const listed = (events.data ?? []).filter((e) => steps || e.type !== 'metrics');

  return (
    <PageSection
      id="ft-job-title"
      title={`Fine-tuning job ${j.suffix ?? j.id}`}
      back={{ to: `/tenants/${tenantId}/fine-tuning`, label: 'All jobs' }}
      actions={
        <>
          <StatusChip
            status={j.cancel_requested ? 'cancel requested' : j.status}
            label="Job status"
          />
          {cancellable && (
            <Button
              color="error"
              variant="outlined"
              onClick={() => {
                cancel.reset();
                setConfirmCancel(true);
              }}
            >
              Cancel job
            </Button>
          )}
          {deployable && (
            <Button variant="contained" onClick={() => setDeploying(true)}>
              Deploy the result
            </Button>
          )}
        </>
      }
    >
      {j.error && (
        <Alert severity="error" sx={{ mb: 2 }}>
          The job failed: {j.error.message} ({j.error.code})
        </Alert>
      )}
      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 5 }}>
          <Panel title="Job">
            <Terms>
              <Term name="Id" value={<code>{j.id}</code>} />
              <Term name="Status" value={j.status} />
              <Term name="Base model" value={j.model} />
              <Term name="Fine-tuned model" value={j.fine_tuned_model ?? '—'} />
              <Term
                name="Hyperparameters"
                value={`${j.hyperparameters.n_epochs} epochs, batch ${j.hyperparameters.batch_size}, learning rate × ${j.hyperparameters.learning_rate_multiplier}`}
              />
              <Term name="Training file" value={j.training_file} />
              <Term name="Validation file" value={j.validation_file ?? '—'} />
              <Term
                name="Tokens"
                value={`${(j.trained_tokens ?? 0).toLocaleString('en')} trained of ${j.estimated_tokens.toLocaleString('en')} estimated`}
              />
              <Term name="Seed" value={j.seed} />
              <Term name="Created" value={unixTime(j.created_at)} />
              <Term name="Finished" value={unixTime(j.finished_at)} />
            </Terms>
          </Panel>
        </Grid>
        <Grid size={{ xs: 12, md: 7 }}>
          <Panel title="Training">
            <QueryView query={events} what="the job's events">
              {(list) => <LossCurve events={list} totalSteps={totalSteps} />}
            </QueryView>
          </Panel>
        </Grid>
      </Grid>
      <Panel title="Checkpoints">
        <QueryView
          query={checkpoints}
          what="checkpoints"
          isEmpty={(list) => list.data.length === 0}
          empty="No checkpoint yet: one is saved at the end of each epoch."
        >
          {(list) => (
            <DataTable
              label="Checkpoints"
              rows={list.data}
              rowKey={(c) => c.id}
              columns={[
                { header: 'Step', cell: (c) => c.step_number },
                { header: 'Training loss', cell: (c) => c.metrics.train_loss.toFixed(4) },
                {
                  header: 'Validation loss',
                  cell: (c) => c.metrics.valid_loss?.toFixed(4) ?? '—',
                },
                {
                  header: 'Checkpoint model',
                  cell: (c) => <code>{c.fine_tuned_model_checkpoint}</code>,
                },
                { header: 'Saved', cell: (c) => unixTime(c.created_at) },
              ]}
            />
          )}
        </QueryView>
      </Panel>
      <Panel
        title="Events"
        action={
          <FormControlLabel
            control={
              <Switch checked={steps} onChange={(event) => setSteps(event.target.checked)} />
            }
            label="Show every step"
          />
        }
      >
        <QueryView
          query={{ ...events, data: events.data && listed }}
          what="events"
          isEmpty={(list) => list.length === 0}
          empty="No event yet."
        >
          {(list) => (
            <>
              <DataTable
                label="Job events"
                rows={list.slice(0, shown)}
                rowKey={(e) => e.id}
                columns={[
                  { header: 'When', cell: (e) => unixTime(e.created_at) },
                  { header: 'Level', cell: (e) => e.level },
                  { header: 'Message', cell: (e) => e.message },
                ]}
              />
              {list.length > shown && (
                <Button onClick={() => setShown(shown + EVENTS_SHOWN)} sx={{ mt: 2 }}>
                  Older events
                </Button>
              )}
            </>
          )}
        </QueryView>
      </Panel>
      <ConfirmDialog
        open={confirmCancel}
        title={`Cancel ${j.id}?`}
        confirmLabel="Cancel job"
        pending={cancel.isPending}
        error={cancel.error}
        onConfirm={() => cancel.mutate()}
        onClose={() => setConfirmCancel(false)}
      >
        A job under way stops within seconds; its checkpoints are kept and the tokens trained so far
        are counted.
      </ConfirmDialog>
      {deployable && (
        <DeployEndpointDialog
          open={deploying}
          tenantId={tenantId}
          model={j.fine_tuned_model!}
          defaultName={endpointNameFor(j)}
          onClose={() => setDeploying(false)}
          onDeployed={(endpoint) => navigate(`/tenants/${tenantId}/endpoints/${endpoint.id}`)}
        />
      )}
      {cancel.error && !confirmCancel ? (
        <Typography role="alert" color="error">
          {problemOf(cancel.error).message}
        </Typography>
      ) : null}
    </PageSection>
  );
}

/** A DNS-label name for the job's endpoint: its suffix and the end of its id. */
function endpointNameFor(job: FineTuningJob): string {
  const stem = (job.suffix ?? 'ft')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 40);
  return `${stem}-${job.id.slice(-6)}`.replace(/^-+/, '');
}
