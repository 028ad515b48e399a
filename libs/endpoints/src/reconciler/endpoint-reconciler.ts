import { AuditService } from '@app/audit';
import { TenantDb, TenantId } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { UsageIngestionService } from '@app/metering';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { CatalogModel } from '../catalog/catalog-model.entity';
import { endpointTransition, EndpointObservation } from '../endpoints/endpoint-lifecycle';
import { NewEndpointEvent, recordEndpointEvents } from '../endpoints/endpoint-events';
import { Endpoint } from '../endpoints/endpoint.entity';
import { RECONCILER_ACTOR } from '../endpoints.constants';
import {
  DeploymentSpec,
  ENDPOINT_PROVIDER,
  EndpointProvider,
  ObservedDeployment,
  ProviderError,
} from '../providers/endpoint-provider';
import { ReconcileKick } from './reconcile-kick';

/** What one reconcile run did. */
export type ReconcileOutcome =
  'busy' | 'gone' | 'converged' | 'progressing' | 'failed' | 'retrying' | 'deleted';

/** Follow-up delay while an endpoint converges, ms. */
const PROGRESS_DELAY_MS = 1_000;
/** Backoff after provider errors: base × 2^(failures − 1), at most the cap, ms. */
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 60_000;
/** One GPU-hour in GPU-milliseconds. */
const GPU_HOUR_MS = 3_600_000;
/** Key space of the per-endpoint session advisory locks (first int of the pair). */
const LOCK_SPACE = 0x656e6470; // 'endp'

const ACTOR = `${RECONCILER_ACTOR.type}:${RECONCILER_ACTOR.id}`;

/**
 * Converges one endpoint's observed state to its desired spec through the provider (issue 8,
 * "Reconciler"). Safe to run twice at once: a per-endpoint PostgreSQL advisory lock (held on its
 * own connection for the whole run; released if the worker dies) lets one run act while the
 * other re-queues itself. Idempotent: the provider converges to the spec whatever it found, and
 * every write is keyed (replica runs by replica id, usage events by derived ids). Resumes after a
 * crash: the provider adopts what an earlier run started (see {@link ObservedDeployment}).
 *
 * Each run: observe (a replica that died turns a running endpoint `degraded`), apply, then in
 * one transaction record replica starts and exits, the status transition (an endpoint event and
 * an audit event by the system actor), GPU-hours into the usage ledger, and the observed state.
 * Until converged it re-queues itself; provider errors back off (retryable) or fail the
 * endpoint (not retryable); provisioning past ENDPOINT_PROVISION_TIMEOUT_MS fails it.
 * A suspended or offboarded tenant's endpoints are scaled to zero and shown `degraded`.
 */
@Injectable()
export class EndpointReconciler {
  private readonly logger = new Logger('EndpointReconciler');

  constructor(
    private readonly db: TenantDb,
    private readonly dataSource: DataSource,
    @Inject(ENDPOINT_PROVIDER) private readonly provider: EndpointProvider,
    private readonly audit: AuditService,
    private readonly ingestion: UsageIngestionService,
    private readonly kick: ReconcileKick,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async reconcile(tenantId: TenantId, endpointId: string): Promise<ReconcileOutcome> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }]: { locked: boolean }[] = await runner.query(
        `SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS locked`,
        [LOCK_SPACE, endpointId],
      );
      if (!locked) {
        // Another run holds it; look again after it (it may have read the spec before a change).
        await this.kick.queueReconcile(tenantId, endpointId, 'busy', PROGRESS_DELAY_MS);
        return 'busy';
      }
      try {
        return await this.run(tenantId, endpointId);
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1::int, hashtext($2))`, [
          LOCK_SPACE,
          endpointId,
        ]);
      }
    } finally {
      await runner.release();
    }
  }

  /** Every endpoint that is not deleted, across tenants (for the sweep). */
  async liveEndpoints(): Promise<{ tenantId: string; id: string }[]> {
    return this.db.asPlatform('endpoint sweep: endpoints to reconcile', (manager) =>
      manager.query(
        `SELECT tenant_id AS "tenantId", id FROM endpoints WHERE status <> 'deleted' ORDER BY updated_at`,
      ),
    );
  }

  private async run(tenantId: TenantId, endpointId: string): Promise<ReconcileOutcome> {
    const loaded = await this.db.inTenant(tenantId, async (manager) => {
      const endpoint = await manager
        .getRepository(Endpoint)
        .findOneBy({ tenantId, id: endpointId });
      if (!endpoint || endpoint.status === 'deleted') return undefined;
      const model = await manager.getRepository(CatalogModel).findOneBy({ id: endpoint.modelId });
      const [tenant]: { status: string }[] = await manager.query(
        `SELECT status FROM tenants WHERE id = $1`,
        [tenantId],
      );
      return { endpoint, model, tenantStatus: tenant?.status ?? 'offboarded' };
    });
    if (!loaded) return 'gone';
    const { endpoint, model, tenantStatus } = loaded;
    const tenantActive = tenantStatus === 'active' || tenantStatus === 'onboarding';
    const spec: DeploymentSpec = {
      tenantId,
      endpointId,
      name: endpoint.name,
      region: endpoint.region,
      replicas: endpoint.desiredState === 'running' && tenantActive ? endpoint.desiredReplicas : 0,
      generation: endpoint.generation,
      model: {
        id: endpoint.modelId,
        family: model?.family ?? 'unknown',
        modality: model?.modality ?? 'chat',
        contextLength: model?.contextLength ?? 0,
        gpuType: endpoint.gpuType,
        gpusPerReplica: endpoint.gpusPerReplica,
        artifactUri: model?.artifactUri ?? null,
        baseModelId: model?.baseModelId ?? null,
      },
    };
    const previous = endpoint.observed;
    let seen: ObservedDeployment = previous;
    let observed: ObservedDeployment = previous;
    let failure: ProviderError | undefined;
    try {
      if (endpoint.desiredState === 'deleted') {
        await this.provider.remove(spec, previous);
        // They were stopped, not lost: their history says so.
        observed = { replicas: [], url: null };
      } else {
        seen = await this.provider.observe(spec, previous);
        observed = await this.provider.apply(spec, seen);
      }
    } catch (error) {
      failure = error instanceof ProviderError ? error : new ProviderError(String(error), true);
      if (!(error instanceof ProviderError)) {
        this.logger.error({ err: error, endpointId }, 'provider call failed unexpectedly');
      }
    }
    // `run` (not `inTenant`): usage ingestion joins this transaction through the CLS context.
    const outcome = await this.db.run({ kind: 'tenant', tenantId }, () =>
      this.record(this.db.manager, {
        endpointId,
        tenantId,
        spec,
        tenantActive,
        tenantStatus,
        previous,
        seen,
        observed: failure ? seen : observed,
        failure,
        actedOn: {
          desiredState: endpoint.desiredState,
          generation: endpoint.generation,
          desiredReplicas: endpoint.desiredReplicas,
        },
      }),
    );
    if (outcome === 'progressing' || outcome === 'retrying') {
      const failures = outcome === 'retrying' ? (endpoint.reconcileFailures ?? 0) + 1 : 0;
      const delay =
        failures > 0
          ? Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_CAP_MS)
          : PROGRESS_DELAY_MS;
      await this.kick.queueReconcile(tenantId, endpointId, outcome, delay);
    }
    return outcome;
  }

  private async record(
    manager: EntityManager,
    run: {
      endpointId: string;
      tenantId: TenantId;
      spec: DeploymentSpec;
      tenantActive: boolean;
      tenantStatus: string;
      previous: ObservedDeployment;
      seen: ObservedDeployment;
      observed: ObservedDeployment;
      failure?: ProviderError;
      /** The desired state this run's provider calls worked toward. */
      actedOn: Pick<Endpoint, 'desiredState' | 'generation' | 'desiredReplicas'>;
    },
  ): Promise<ReconcileOutcome> {
    const { tenantId, endpointId, spec, previous, seen, observed, failure } = run;
    const repository = manager.getRepository(Endpoint);
    // The spec may have changed while the provider worked: decide on the current row.
    const endpoint = await repository.findOne({
      where: { tenantId, id: endpointId },
      lock: { mode: 'pessimistic_write' },
    });
    if (!endpoint || endpoint.status === 'deleted') return 'gone';
    const events: NewEndpointEvent[] = [];
    const event = (e: Omit<NewEndpointEvent, 'tenantId' | 'endpointId' | 'actor'>) =>
      events.push({ tenantId, endpointId, actor: ACTOR, ...e });

    // Replica starts and exits, and their runs (GPU time).
    const before = new Set(previous.replicas.map((r) => r.id));
    const after = new Set(observed.replicas.map((r) => r.id));
    for (const replica of observed.replicas.filter((r) => !before.has(r.id))) {
      event({
        type: 'replica.started',
        message: `replica ${replica.id} started (generation ${replica.generation})`,
        details: { replicaId: replica.id, generation: replica.generation },
      });
    }
    for (const replica of previous.replicas.filter((r) => !after.has(r.id))) {
      const died = diedDuringRun(replica.id, seen, observed);
      event({
        type: died ? 'replica.exited' : 'replica.stopped',
        message: died
          ? `replica ${replica.id} exited unexpectedly`
          : `replica ${replica.id} stopped`,
        details: { replicaId: replica.id },
      });
    }
    if (observed.replicas.length > 0) {
      await manager.query(
        `INSERT INTO endpoint_replica_runs (tenant_id, endpoint_id, replica_id, gpus, started_at)
         SELECT $1, $2, r, $3, s FROM unnest($4::text[], $5::timestamptz[]) AS u(r, s)
         ON CONFLICT DO NOTHING`,
        [
          tenantId,
          endpointId,
          endpoint.gpusPerReplica,
          observed.replicas.map((r) => r.id),
          observed.replicas.map((r) => r.startedAt),
        ],
      );
    }
    await manager.query(
      `UPDATE endpoint_replica_runs SET ended_at = greatest(now(), started_at)
        WHERE tenant_id = $1 AND endpoint_id = $2 AND ended_at IS NULL
          AND NOT (replica_id = ANY($3::text[]))`,
      [tenantId, endpointId, [...after]],
    );

    // The status transition.
    // A request changed the desired state while the provider worked: what it observed says
    // nothing about the new one (a run that kept replicas up must not report them deleted).
    // Record what was seen; the next run acts on the new spec and decides.
    const overtaken =
      endpoint.desiredState !== run.actedOn.desiredState ||
      endpoint.generation !== run.actedOn.generation ||
      endpoint.desiredReplicas !== run.actedOn.desiredReplicas;
    const decision = overtaken ? undefined : this.decide(endpoint, run);
    let status: Endpoint['status'] = endpoint.status;
    let statusReason = endpoint.statusReason;
    if (decision) {
      const to = endpointTransition(endpoint.status, decision.observation);
      if (to && to !== endpoint.status) {
        event({
          type: `status.${decision.observation}`,
          fromStatus: endpoint.status,
          toStatus: to,
          message: decision.reason ?? `${endpoint.status} → ${to}`,
        });
        await this.audit.append(manager, {
          tenantId,
          actor: RECONCILER_ACTOR,
          action: `endpoint.${decision.observation}`,
          resource: { type: 'endpoint', id: endpointId },
          outcome: 'success',
          ...(decision.reason ? { reason: decision.reason } : {}),
          changes: { before: { status: endpoint.status }, after: { status: to } },
        });
        status = to;
        statusReason = decision.reason ?? null;
      }
    }
    if (failure?.retryable) {
      event({ type: 'reconcile.error', message: failure.message.slice(0, 2000) });
    }

    const scaling =
      !failure &&
      !overtaken &&
      status === 'running' &&
      (!decision || decision.observation === 'converge')
        ? this.autoscale(endpoint, observed, run.tenantActive)
        : {};
    if (scaling.desiredReplicas !== undefined) {
      const to = endpointTransition(status, 'update') ?? status;
      event({
        type: 'autoscale',
        fromStatus: status,
        toStatus: to,
        message: `${scaling.load} request(s) in flight at a target of ${endpoint.autoscaling?.targetConcurrentRequests} per replica: ${endpoint.desiredReplicas} → ${scaling.desiredReplicas} replica(s)`,
        details: {
          load: scaling.load,
          from: endpoint.desiredReplicas,
          to: scaling.desiredReplicas,
        },
      });
      await this.audit.append(manager, {
        tenantId,
        actor: RECONCILER_ACTOR,
        action: 'endpoint.autoscale',
        resource: { type: 'endpoint', id: endpointId },
        outcome: 'success',
        changes: {
          before: { replicas: endpoint.desiredReplicas, status },
          after: { replicas: scaling.desiredReplicas, status: to },
        },
      });
      status = to;
    }

    const deleted = status === 'deleted';
    await this.meterGpuHours(manager, endpoint, deleted);
    await this.recordEndpointQuota(manager, endpoint, deleted);
    await recordEndpointEvents(manager, events);
    const converged = decision?.observation === 'converge' || (status === 'running' && !decision);
    await repository.update(
      { tenantId, id: endpointId },
      {
        status,
        statusReason,
        // jsonb: TypeORM's deep-partial type does not fit open-ended handles.
        observed: { replicas: observed.replicas, url: observed.url } as never,
        ...(converged || status === 'stopped' ? { observedGeneration: spec.generation } : {}),
        reconcileFailures: failure?.retryable ? endpoint.reconcileFailures + 1 : 0,
        ...(status !== endpoint.status ? { updatedAt: () => 'now()' } : {}),
        ...(deleted ? { deletedAt: () => 'now()' } : {}),
        ...(scaling.desiredReplicas !== undefined
          ? { desiredReplicas: scaling.desiredReplicas }
          : {}),
        ...(scaling.scaleDownSince !== undefined ? { scaleDownSince: scaling.scaleDownSince } : {}),
      },
    );
    if (deleted) return 'deleted';
    if (status === 'failed') return 'failed';
    if (failure?.retryable) return 'retrying';
    if (scaling.desiredReplicas !== undefined || overtaken) return 'progressing';
    const settled =
      (status === 'running' && converged) ||
      status === 'stopped' ||
      (status === 'degraded' && !run.tenantActive);
    return settled ? 'converged' : 'progressing';
  }

  /**
   * The autoscaler: on a running, converged endpoint with a policy, the replicas wanted are the
   * requests in flight over the ready replicas divided by `targetConcurrentRequests`, rounded
   * up, within [max(minReplicas, 1), maxReplicas] (Knative's concurrency rule, sampled at each
   * reconcile). More is applied at once; fewer only after the load has stayed low for
   * `scaleDownDelayMs`.
   */
  private autoscale(
    endpoint: Endpoint,
    observed: ObservedDeployment,
    tenantActive: boolean,
  ): { desiredReplicas?: number; scaleDownSince?: Date | null; load?: number } {
    const policy = endpoint.autoscaling;
    if (!policy || !tenantActive || endpoint.desiredState !== 'running') return {};
    if (endpoint.status !== 'running') return {};
    const ready = observed.replicas.filter((r) => r.ready);
    if (ready.length === 0 || ready.some((r) => r.inFlight === undefined)) return {};
    const load = ready.reduce((sum, r) => sum + (r.inFlight ?? 0), 0);
    const floor = Math.max(endpoint.minReplicas, 1);
    const wanted = Math.min(
      Math.max(Math.ceil(load / policy.targetConcurrentRequests), floor),
      endpoint.maxReplicas,
    );
    if (wanted > endpoint.desiredReplicas) {
      return { desiredReplicas: wanted, scaleDownSince: null, load };
    }
    if (wanted < endpoint.desiredReplicas) {
      const since = endpoint.scaleDownSince;
      if (!since) return { scaleDownSince: new Date() };
      if (Date.now() - since.getTime() >= policy.scaleDownDelayMs) {
        return { desiredReplicas: wanted, scaleDownSince: null, load };
      }
      return {};
    }
    return endpoint.scaleDownSince ? { scaleDownSince: null } : {};
  }

  /** Which observation the run makes, with a reason for people (or none: nothing to report). */
  private decide(
    endpoint: Endpoint,
    run: {
      spec: DeploymentSpec;
      tenantActive: boolean;
      tenantStatus: string;
      previous: ObservedDeployment;
      seen: ObservedDeployment;
      observed: ObservedDeployment;
      failure?: ProviderError;
    },
  ): { observation: EndpointObservation; reason?: string } | undefined {
    const { spec, observed, seen, previous, failure } = run;
    if (failure && !failure.retryable) {
      return { observation: 'fail', reason: `provider refused: ${failure.message}` };
    }
    if (endpoint.desiredState === 'deleted') {
      return failure ? undefined : { observation: 'deleted', reason: 'replicas removed' };
    }
    if (endpoint.desiredState === 'stopped') {
      return observed.replicas.length === 0 && !failure
        ? { observation: 'stopped', reason: 'scaled to zero' }
        : undefined;
    }
    if (!run.tenantActive) {
      return { observation: 'degrade', reason: `tenant ${run.tenantStatus}: scaled to zero` };
    }
    // A pending endpoint is first reported provisioning (work has started), even when its
    // replicas came up within this very run; the next run reports it running.
    if (endpoint.status === 'pending') return { observation: 'provision' };
    // A running endpoint short of ready replicas before this run repaired anything is degraded
    // (reported even when the run already started replacements); so is a running or updating
    // one that lost a replica that was ready (also one that died after this run's first look).
    const seenReady = seen.replicas.filter((r) => r.ready && r.generation === spec.generation);
    if (endpoint.status === 'running' && seenReady.length < spec.replicas) {
      return {
        observation: 'degrade',
        reason: `${spec.replicas - seenReady.length} of ${spec.replicas} replica(s) not ready; restarting`,
      };
    }
    const observedIds = new Set(observed.replicas.map((r) => r.id));
    const died = previous.replicas.filter(
      (r) => r.ready && !observedIds.has(r.id) && diedDuringRun(r.id, seen, observed),
    );
    if (died.length > 0 && (endpoint.status === 'updating' || endpoint.status === 'running')) {
      return { observation: 'degrade', reason: `${died.length} replica(s) exited; restarting` };
    }
    const fresh = observed.replicas.filter((r) => r.generation === spec.generation);
    const converged =
      !failure &&
      fresh.filter((r) => r.ready).length >= spec.replicas &&
      observed.replicas.length === spec.replicas;
    if (converged) return { observation: 'converge', reason: `${spec.replicas} replica(s) ready` };
    if (endpoint.status === 'degraded' && !died.length && observed.replicas.length > 0) {
      return undefined;
    }
    const inProgressSince = endpoint.updatedAt.getTime();
    if (
      (endpoint.status === 'provisioning' || endpoint.status === 'updating') &&
      Date.now() - inProgressSince > this.config.ENDPOINT_PROVISION_TIMEOUT_MS
    ) {
      return {
        observation: 'fail',
        reason: `not ready within ${this.config.ENDPOINT_PROVISION_TIMEOUT_MS} ms`,
      };
    }
    return undefined;
  }

  /**
   * Records whole GPU-hours (replica running time × GPUs per replica, from the replica runs) not
   * yet in the ledger, as one `gpu_hours` usage event whose id is derived from the endpoint and
   * the new total, so a repeated run records nothing twice. At deletion the started hour counts
   * as a whole one.
   */
  private async meterGpuHours(
    manager: EntityManager,
    endpoint: Endpoint,
    final: boolean,
  ): Promise<void> {
    const [{ gpu_ms }]: { gpu_ms: string }[] = await manager.query(
      `SELECT coalesce(sum(gpus * extract(epoch FROM (coalesce(ended_at, now()) - started_at)) * 1000), 0)::bigint::text AS gpu_ms
         FROM endpoint_replica_runs WHERE tenant_id = $1 AND endpoint_id = $2`,
      [endpoint.tenantId, endpoint.id],
    );
    const gpuMs = Number(gpu_ms);
    const hours = final ? Math.ceil(gpuMs / GPU_HOUR_MS) : Math.floor(gpuMs / GPU_HOUR_MS);
    if (hours <= endpoint.gpuHoursRecorded) return;
    const result = await this.ingestion.record([
      {
        id: derivedUuid(`gpu-hours:${endpoint.id}:${hours}`),
        tenantId: endpoint.tenantId,
        metric: 'gpu_hours',
        quantity: hours - endpoint.gpuHoursRecorded,
        occurredAt: new Date().toISOString(),
        endpointId: endpoint.id,
        attributes: { gpuType: endpoint.gpuType, gpuMilliseconds: gpuMs },
      },
    ]);
    if (result.rejected.length > 0) {
      throw new Error(`gpu_hours usage refused: ${result.rejected[0].message}`);
    }
    await manager.query(
      `UPDATE endpoints SET gpu_hours_recorded = $3 WHERE tenant_id = $1 AND id = $2`,
      [endpoint.tenantId, endpoint.id, hours],
    );
  }

  /**
   * Keeps `dedicated_endpoints` (a level) right: the +1 recorded at creation is repaired here if
   * its commit was lost (once the reservation has surely expired, so Redis is not counted
   * twice), and deletion records the −1. Both ids are fixed per endpoint: at most once each.
   */
  private async recordEndpointQuota(
    manager: EntityManager,
    endpoint: Endpoint,
    deleted: boolean,
  ): Promise<void> {
    const reservationGone =
      Date.now() - endpoint.createdAt.getTime() > this.config.QUOTA_RESERVATION_TTL_MS + 60_000;
    const events = [];
    if (!endpoint.quotaRecorded && (reservationGone || deleted)) {
      events.push({
        id: endpoint.quotaEventId,
        tenantId: endpoint.tenantId,
        metric: 'dedicated_endpoints',
        quantity: 1,
        occurredAt: endpoint.createdAt.toISOString(),
        endpointId: endpoint.id,
      });
    }
    if (deleted) {
      events.push({
        id: derivedUuid(`endpoint-deleted:${endpoint.quotaEventId}`),
        tenantId: endpoint.tenantId,
        metric: 'dedicated_endpoints',
        quantity: -1,
        occurredAt: new Date().toISOString(),
        endpointId: endpoint.id,
      });
    }
    if (events.length === 0) return;
    const result = await this.ingestion.record(events);
    if (result.rejected.length > 0) {
      throw new Error(`dedicated_endpoints usage refused: ${result.rejected[0].message}`);
    }
    await manager.query(
      `UPDATE endpoints SET quota_recorded = true WHERE tenant_id = $1 AND id = $2`,
      [endpoint.tenantId, endpoint.id],
    );
  }
}

/** A UUID (version 8 layout, RFC 9562 §5.8) derived from `name`: the same name, the same id. */
export function derivedUuid(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Whether a replica the last run recorded, and this run no longer has, died (rather than was
 * removed on purpose by this run): by the provider's list of removed replicas when it gives one
 * ({@link ObservedDeployment.removed}), else by whether the run's first observation had already
 * lost it.
 */
function diedDuringRun(
  id: string,
  seen: ObservedDeployment,
  observed: ObservedDeployment,
): boolean {
  return observed.removed
    ? !observed.removed.includes(id)
    : !seen.replicas.some((r) => r.id === id);
}
