import { TenantDb, TenantId } from '@app/authz';
import {
  Actor,
  actorRef,
  AppConfig,
  InjectConfig,
  keysetPage,
  NotFound,
  Page,
  RequestContext,
  ValidationFailed,
} from '@app/core';
import { QuotaReservationService, QuotaStateUnavailable } from '@app/metering';
import { Region, RegionService, storedProfile, Tenant, TenantService } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CatalogModel } from '../catalog/catalog-model.entity';
import { CatalogService } from '../catalog/catalog.service';
import {
  EndpointNameTaken,
  EndpointQuotaExceeded,
  IllegalEndpointTransition,
  ModelFamilyNotAllowed,
  ModelNotOfferedInRegion,
  NoContractInForce,
  RegionCapacityExhausted,
  RegionMissingCertification,
  RegionNotAllowed,
  TenantSuspended,
} from '../endpoints-problems';
import { ReconcileKick } from '../reconciler/reconcile-kick';
import { EndpointResponse } from './dto/endpoint.response';
import { allowedRequests, endpointTransition, EndpointRequest } from './endpoint-lifecycle';
import { recordEndpointEvents } from './endpoint-events';
import { AutoscalingPolicy, Endpoint, EndpointEventRecord } from './endpoint.entity';
import { placementRefusal } from './placement.policy';

export interface NewEndpoint {
  name: string;
  model: string;
  region: string;
  minReplicas: number;
  maxReplicas: number;
  autoscaling?: { targetConcurrentRequests: number; scaleDownDelayMs?: number } | null;
}

export interface EndpointChanges {
  model?: string;
  minReplicas?: number;
  maxReplicas?: number;
  replicas?: number;
  autoscaling?: { targetConcurrentRequests: number; scaleDownDelayMs?: number } | null;
}

export interface EndpointFilter {
  status?: string;
  includeDeleted?: boolean;
}

/** Default of {@link AutoscalingPolicy.scaleDownDelayMs}: five minutes. */
const DEFAULT_SCALE_DOWN_DELAY_MS = 300_000;

/**
 * A tenant's dedicated endpoints (issue 8): create, read, list, scale or change the model,
 * stop, start, delete, and their history. Writes the desired spec only; the reconciler (worker)
 * makes the provider match it and records what it observes. Runs in the request's
 * tenant-scoped transaction; every request appends to the endpoint's history and is audited by
 * the transaction interceptor, refusals included.
 *
 * Checks, each its own problem type: the tenant is not suspended; the tenant's compliance
 * profile allows the region (allowed regions or data zones, required certifications) and the
 * model's family ({@link placementRefusal}, CASL rules); the catalog offers the model in the
 * region; the region has the GPUs (`maxReplicas` × GPUs per replica, all tenants' running
 * endpoints counted, serialized per region and GPU type); the contract's `dedicated_endpoints`
 * line has room (a quota reservation, committed once the endpoint is saved).
 */
@Injectable()
export class EndpointService {
  private readonly logger = new Logger('EndpointService');

  constructor(
    private readonly db: TenantDb,
    private readonly catalog: CatalogService,
    private readonly regions: RegionService,
    private readonly tenants: TenantService,
    private readonly reservations: QuotaReservationService,
    private readonly kick: ReconcileKick,
    private readonly context: RequestContext,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * @returns the endpoint, `pending`; the reconciler provisions it
   * @throws TenantSuspended (403); ValidationFailed (400: unknown model or region, min > max);
   *   RegionNotAllowed, RegionMissingCertification, ModelFamilyNotAllowed (403);
   *   ModelNotOfferedInRegion (422); RegionCapacityExhausted (409); EndpointQuotaExceeded (409);
   *   NoContractInForce (409); EndpointNameTaken (409); QuotaStateUnavailable (503)
   */
  async create(tenantId: TenantId, input: NewEndpoint, by: Actor): Promise<Endpoint> {
    const tenant = await this.assertNotSuspended(tenantId);
    if (input.minReplicas > input.maxReplicas) {
      throw new ValidationFailed('minReplicas exceeds maxReplicas.', {
        errors: [{ path: 'minReplicas', message: 'must not exceed maxReplicas' }],
      });
    }
    const { model, region } = await this.placement(tenant, input.model, input.region);
    await this.assertNameFree(tenantId, input.name);
    await this.assertCapacity(region, model, input.maxReplicas, 0);

    const id = randomUUID();
    const quotaEventId = randomUUID();
    const reservation = await this.reservations.reserve({
      tenantId,
      metric: 'dedicated_endpoints',
      quantity: 1,
      eventId: quotaEventId,
    });
    if (!reservation.granted) {
      if (reservation.reason === 'no_contract_in_force') {
        throw new NoContractInForce('The tenant has no contract in force now.');
      }
      if (reservation.reason === 'quota_state_unavailable') {
        throw new QuotaStateUnavailable('Quota counters cannot be read now; retry shortly.');
      }
      const line = reservation.line;
      throw new EndpointQuotaExceeded(
        `The contract allows ${line?.limit ?? 0} dedicated endpoint(s) and all are in use.`,
        { extensions: { limit: line?.limit ?? 0, used: Number(line?.used ?? 0) } },
      );
    }
    const { reservationId } = reservation;
    this.db.afterRollback(() => this.settle(() => this.reservations.release(reservationId)));
    this.db.afterCommit(() => this.confirmQuota(tenantId, id, reservationId));

    await this.insertEndpoint({
      id,
      tenantId,
      name: input.name,
      modelId: model.id,
      region: region.code,
      provider: this.config.ENDPOINT_PROVIDER,
      minReplicas: input.minReplicas,
      maxReplicas: input.maxReplicas,
      desiredReplicas: Math.max(input.minReplicas, 1),
      autoscaling: autoscalingOf(input.autoscaling),
      desiredState: 'running',
      gpuType: model.gpuType,
      gpusPerReplica: model.gpusPerReplica,
      generation: 1,
      status: 'pending',
      statusReason: null,
      observed: { replicas: [], url: null },
      observedGeneration: null,
      reconcileFailures: 0,
      gpuHoursRecorded: 0,
      quotaEventId,
      quotaRecorded: false,
      createdBy: actorRef(by),
      updatedBy: actorRef(by),
    });
    await recordEndpointEvents(this.db.manager, [
      {
        tenantId,
        endpointId: id,
        type: 'requested.create',
        toStatus: 'pending',
        message: `${model.id} in ${region.code}, ${input.minReplicas}–${input.maxReplicas} replicas`,
        actor: actorRef(by),
      },
    ]);
    this.kick.afterCommit(tenantId, id, 'created');
    return this.get(tenantId, id);
  }

  /** @throws EndpointNameTaken when a concurrent request took the name since it was checked */
  private async insertEndpoint(
    row: Omit<Endpoint, 'createdAt' | 'updatedAt' | 'deletedAt' | 'scaleDownSince'>,
  ): Promise<void> {
    try {
      // jsonb `observed`: TypeORM's deep-partial type does not fit open-ended handles.
      await this.db.manager.getRepository(Endpoint).insert(row as never);
    } catch (error) {
      const { code, constraint } =
        (error as { driverError?: { code?: string; constraint?: string } }).driverError ?? {};
      if (code === '23505' && constraint === 'endpoints_tenant_name_live_idx') {
        throw nameTaken(row.name);
      }
      throw error;
    }
  }

  /** The API's view of an endpoint, with the gateway URL tenants call it at. */
  view(endpoint: Endpoint): EndpointResponse {
    return EndpointResponse.of(endpoint, `${this.config.GATEWAY_PUBLIC_URL}/v1`);
  }

  /** @throws NotFound when there is no such endpoint in this tenant (another tenant's too). */
  async get(tenantId: TenantId, id: string): Promise<Endpoint> {
    const endpoint = await this.db.manager.getRepository(Endpoint).findOneBy({ tenantId, id });
    if (!endpoint) throw new NotFound('No such endpoint.');
    return endpoint;
  }

  /** Newest first; deleted endpoints only when asked. @throws ValidationFailed (cursor) */
  async list(
    tenantId: TenantId,
    filter: EndpointFilter,
    limit: number,
    after?: string,
  ): Promise<Page<Endpoint>> {
    const query = this.db.manager
      .getRepository(Endpoint)
      .createQueryBuilder('e')
      .where('e.tenant_id = :tenantId', { tenantId });
    if (filter.status) query.andWhere('e.status = :status', { status: filter.status });
    else if (!filter.includeDeleted) query.andWhere(`e.status <> 'deleted'`);
    return keysetPage(query, { alias: 'e', idOf: (e) => e.id, order: 'DESC', limit, after });
  }

  /**
   * Scales, changes the model (a rolling update: `generation` + 1) or the autoscaling policy.
   * A stopped endpoint keeps the change for its next start.
   *
   * @throws NotFound; IllegalEndpointTransition (409); ValidationFailed (400) for an empty change,
   *   min > max or replicas outside them; the placement, capacity and suspension refusals of
   *   {@link create} for a new model or more GPUs
   */
  async update(
    tenantId: TenantId,
    id: string,
    changes: EndpointChanges,
    by: Actor,
  ): Promise<Endpoint> {
    const given = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (given.length === 0) {
      throw new ValidationFailed('Nothing to change.', {
        errors: [
          {
            path: '(body)',
            message: 'send at least one of model, minReplicas, maxReplicas, replicas, autoscaling',
          },
        ],
      });
    }
    const endpoint = await this.lock(tenantId, id);
    const to = this.transition(endpoint, 'update');
    const tenant = await this.assertNotSuspended(tenantId);
    const min = changes.minReplicas ?? endpoint.minReplicas;
    const max = changes.maxReplicas ?? endpoint.maxReplicas;
    if (min > max) {
      throw new ValidationFailed('minReplicas exceeds maxReplicas.', {
        errors: [
          {
            path: changes.minReplicas !== undefined ? 'minReplicas' : 'maxReplicas',
            message: `minReplicas (${min}) must not exceed maxReplicas (${max})`,
          },
        ],
      });
    }
    if (changes.replicas !== undefined && (changes.replicas < min || changes.replicas > max)) {
      throw new ValidationFailed('replicas outside minReplicas..maxReplicas.', {
        errors: [{ path: 'replicas', message: `must be between ${min} and ${max}` }],
      });
    }
    let model: CatalogModel | undefined;
    if (changes.model !== undefined && changes.model !== endpoint.modelId) {
      ({ model } = await this.placement(tenant, changes.model, endpoint.region));
      const current = await this.catalog.findForTenant(tenantId, endpoint.modelId);
      if (current && current.modality !== model.modality) {
        throw new ValidationFailed('The new model serves another kind of request.', {
          errors: [
            {
              path: 'model',
              message: `must be a ${current.modality} model like ${current.id} (its clients would break); create another endpoint for ${model.modality}`,
            },
          ],
        });
      }
    }
    const gpuType = model?.gpuType ?? endpoint.gpuType;
    const gpus = model?.gpusPerReplica ?? endpoint.gpusPerReplica;
    if (
      endpoint.desiredState === 'running' &&
      (max * gpus > endpoint.maxReplicas * endpoint.gpusPerReplica || gpuType !== endpoint.gpuType)
    ) {
      const own = gpuType === endpoint.gpuType ? endpoint.maxReplicas * endpoint.gpusPerReplica : 0;
      await this.assertCapacity(
        await this.regions.get(endpoint.region),
        { gpuType, gpusPerReplica: gpus },
        max,
        own,
      );
    }
    const before = this.view(endpoint);
    this.context.recordBefore(before);
    const replicas =
      changes.replicas ?? Math.min(Math.max(endpoint.desiredReplicas, Math.max(min, 1)), max);
    await this.db.manager.getRepository(Endpoint).update(
      { tenantId, id },
      {
        minReplicas: min,
        maxReplicas: max,
        desiredReplicas: replicas,
        ...(changes.autoscaling !== undefined
          ? { autoscaling: autoscalingOf(changes.autoscaling) }
          : {}),
        ...(model
          ? {
              modelId: model.id,
              gpuType: model.gpuType,
              gpusPerReplica: model.gpusPerReplica,
              generation: endpoint.generation + 1,
            }
          : {}),
        // A person's change restarts the autoscaler's scale-down wait.
        scaleDownSince: null,
        status: to,
        statusReason: null,
        updatedAt: () => 'now()',
        updatedBy: actorRef(by),
      },
    );
    await this.requested(endpoint, 'update', to, by, {
      ...Object.fromEntries(given),
      ...(model ? { generation: endpoint.generation + 1 } : {}),
    });
    return this.get(tenantId, id);
  }

  /** Scales to zero, keeping the spec. @throws NotFound; IllegalEndpointTransition (409) */
  async stop(tenantId: TenantId, id: string, by: Actor): Promise<Endpoint> {
    const endpoint = await this.lock(tenantId, id);
    const to = this.transition(endpoint, 'stop');
    return this.changeState(endpoint, 'stop', to, 'stopped', by);
  }

  /**
   * Runs a stopped (or failed) endpoint again with its spec; the region's GPUs are checked again
   * (a stopped endpoint holds none).
   *
   * @throws NotFound; IllegalEndpointTransition (409); TenantSuspended (403);
   *   RegionCapacityExhausted (409); the compliance refusals when the profile changed since
   */
  async start(tenantId: TenantId, id: string, by: Actor): Promise<Endpoint> {
    const endpoint = await this.lock(tenantId, id);
    const to = this.transition(endpoint, 'start');
    const tenant = await this.assertNotSuspended(tenantId);
    const { model, region } = await this.placement(tenant, endpoint.modelId, endpoint.region);
    if (endpoint.desiredState !== 'running') {
      await this.assertCapacity(region, model, endpoint.maxReplicas, 0);
    }
    return this.changeState(endpoint, 'start', to, 'running', by);
  }

  /**
   * Deletes: the reconciler removes the replicas, then the endpoint is `deleted` (kept for
   * history; its name is free again) and stops counting toward `dedicated_endpoints`.
   *
   * @throws NotFound; IllegalEndpointTransition (409) when it is already being deleted
   */
  async remove(tenantId: TenantId, id: string, by: Actor): Promise<Endpoint> {
    const endpoint = await this.lock(tenantId, id);
    const to = this.transition(endpoint, 'delete');
    return this.changeState(endpoint, 'delete', to, 'deleted', by);
  }

  /** The endpoint's history, newest first. @throws NotFound; ValidationFailed (cursor) */
  async events(
    tenantId: TenantId,
    endpointId: string,
    limit: number,
    after?: string,
  ): Promise<Page<EndpointEventRecord>> {
    await this.get(tenantId, endpointId);
    const query = this.db.manager
      .getRepository(EndpointEventRecord)
      .createQueryBuilder('v')
      .where('v.tenant_id = :tenantId AND v.endpoint_id = :endpointId', { tenantId, endpointId });
    return keysetPage(query, { alias: 'v', idOf: (v) => v.id, order: 'DESC', limit, after });
  }

  private async changeState(
    endpoint: Endpoint,
    request: EndpointRequest,
    to: Endpoint['status'],
    desiredState: Endpoint['desiredState'],
    by: Actor,
  ): Promise<Endpoint> {
    this.context.recordBefore(this.view(endpoint));
    const tenantId = endpoint.tenantId as TenantId;
    await this.db.manager.getRepository(Endpoint).update(
      { tenantId, id: endpoint.id },
      {
        desiredState,
        status: to,
        statusReason: null,
        reconcileFailures: 0,
        updatedAt: () => 'now()',
        updatedBy: actorRef(by),
      },
    );
    await this.requested(endpoint, request, to, by, null);
    return this.get(tenantId, endpoint.id);
  }

  private async requested(
    endpoint: Endpoint,
    request: EndpointRequest,
    to: Endpoint['status'],
    by: Actor,
    details: Record<string, unknown> | null,
  ): Promise<void> {
    await recordEndpointEvents(this.db.manager, [
      {
        tenantId: endpoint.tenantId,
        endpointId: endpoint.id,
        type: `requested.${request}`,
        fromStatus: endpoint.status,
        toStatus: to,
        message: `${request} requested`,
        details,
        actor: actorRef(by),
      },
    ]);
    this.kick.afterCommit(endpoint.tenantId, endpoint.id, request);
  }

  private transition(endpoint: Endpoint, request: EndpointRequest): Endpoint['status'] {
    const to = endpointTransition(endpoint.status, request);
    if (!to) {
      throw new IllegalEndpointTransition(
        `An endpoint that is ${endpoint.status} cannot take "${request}".`,
        {
          extensions: {
            endpointStatus: endpoint.status,
            allowed: allowedRequests(endpoint.status),
          },
        },
      );
    }
    return to;
  }

  private async lock(tenantId: TenantId, id: string): Promise<Endpoint> {
    const endpoint = await this.db.manager
      .getRepository(Endpoint)
      .findOne({ where: { tenantId, id }, lock: { mode: 'pessimistic_write' } });
    if (!endpoint) throw new NotFound('No such endpoint.');
    return endpoint;
  }

  private async assertNotSuspended(tenantId: TenantId): Promise<Tenant> {
    const tenant = await this.tenants.get(tenantId);
    if (tenant.status === 'suspended') {
      throw new TenantSuspended('The tenant is suspended; its endpoints stay scaled to zero.');
    }
    return tenant;
  }

  /**
   * The catalog model and region, once the tenant's compliance profile allows the placement and
   * the catalog offers the model there.
   */
  private async placement(
    tenant: Tenant,
    modelId: string,
    regionCode: string,
  ): Promise<{ model: CatalogModel; region: Region }> {
    const model = await this.catalog.findForTenant(tenant.id as TenantId, modelId);
    if (!model) {
      throw new ValidationFailed('Unknown model.', {
        errors: [{ path: 'model', message: `no model "${modelId}" in the tenant's catalog` }],
      });
    }
    const region = await this.regions.get(regionCode).catch((error: unknown) => {
      if (!(error instanceof NotFound)) throw error;
      throw new ValidationFailed('Unknown region.', {
        errors: [{ path: 'region', message: `no region "${regionCode}" in the catalog` }],
      });
    });
    const refusal = placementRefusal(storedProfile(tenant.complianceProfile), {
      region: {
        code: region.code,
        dataZone: region.dataZone,
        certifications: region.certifications,
      },
      model: { id: model.id, family: model.family },
    });
    if (refusal?.code === 'region_not_allowed') {
      throw new RegionNotAllowed(
        `The compliance profile allows neither ${region.code} nor its data zone "${region.dataZone}".`,
        { extensions: { region: region.code, dataZone: region.dataZone } },
      );
    }
    if (refusal?.code === 'region_missing_certification') {
      throw new RegionMissingCertification(
        `${region.code} does not hold ${refusal.certification}, which the compliance profile requires.`,
        { extensions: { region: region.code, missingCertifications: [refusal.certification] } },
      );
    }
    if (refusal?.code === 'model_family_not_allowed') {
      throw new ModelFamilyNotAllowed(
        `The compliance profile does not allow the "${model.family}" model family.`,
        { extensions: { family: model.family } },
      );
    }
    if (!model.regions.includes(region.code)) {
      throw new ModelNotOfferedInRegion(`${model.id} is not offered in ${region.code}.`, {
        extensions: { model: model.id, regions: model.regions },
      });
    }
    return { model, region };
  }

  private async assertNameFree(tenantId: TenantId, name: string): Promise<void> {
    const taken = await this.db.manager
      .getRepository(Endpoint)
      .createQueryBuilder('e')
      .where(`e.tenant_id = :tenantId AND e.name = :name AND e.status <> 'deleted'`, {
        tenantId,
        name,
      })
      .getExists();
    if (taken) throw nameTaken(name);
  }

  /**
   * GPUs of `model.gpuType` in the region must cover every tenant's running endpoints at their
   * `maxReplicas` plus this one. Holds a per-(region, GPU type) transaction lock, so concurrent
   * requests cannot both take the last GPUs. `ownGpus` is what this endpoint already holds.
   */
  private async assertCapacity(
    region: Region,
    model: { gpuType: string; gpusPerReplica: number },
    maxReplicas: number,
    ownGpus: number,
  ): Promise<void> {
    const manager = this.db.manager;
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('region-gpus'), hashtext($1))`, [
      `${region.code}/${model.gpuType}`,
    ]);
    const [{ allocated }]: { allocated: string }[] = await manager.query(
      `SELECT region_gpus_allocated($1, $2)::text AS allocated`,
      [region.code, model.gpuType],
    );
    const capacity = region.gpuCapacity[model.gpuType] ?? 0;
    const requested = maxReplicas * model.gpusPerReplica;
    const others = Number(allocated) - ownGpus;
    if (others + requested > capacity) {
      throw new RegionCapacityExhausted(
        `${region.code} has ${Math.max(capacity - others, 0)} ${model.gpuType} GPU(s) free; the endpoint needs ${requested}.`,
        { extensions: { capacity, allocated: others, requested, gpuType: model.gpuType } },
      );
    }
  }

  /** Commits the reservation once the endpoint is saved and marks its usage recorded. */
  private async confirmQuota(
    tenantId: TenantId,
    endpointId: string,
    reservationId: string,
  ): Promise<void> {
    try {
      await this.reservations.commit(reservationId, 1, { endpointId });
      await this.db.inTenant(tenantId, (manager) =>
        manager.query(
          `UPDATE endpoints SET quota_recorded = true WHERE tenant_id = $1 AND id = $2`,
          [tenantId, endpointId],
        ),
      );
    } catch (error) {
      // The reconciler records the usage event (same id) once the reservation has expired.
      this.logger.warn({ err: error, endpointId }, 'endpoint quota commit failed; repair pending');
    }
  }

  private async settle(work: () => Promise<unknown>): Promise<void> {
    await work().catch((error: unknown) =>
      this.logger.warn({ err: error }, 'releasing an endpoint quota reservation failed'),
    );
  }
}

function autoscalingOf(
  input: { targetConcurrentRequests: number; scaleDownDelayMs?: number } | null | undefined,
): AutoscalingPolicy | null {
  if (!input) return null;
  return {
    targetConcurrentRequests: input.targetConcurrentRequests,
    scaleDownDelayMs: input.scaleDownDelayMs ?? DEFAULT_SCALE_DOWN_DELAY_MS,
  };
}

/** `endpoint_name_taken`, with the field error a form shows under the name. */
function nameTaken(name: string): Error {
  return new EndpointNameTaken(`An endpoint named "${name}" exists.`, {
    errors: [{ path: 'name', message: 'is already in use' }],
  });
}
