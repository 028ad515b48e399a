import { TenantDb, TenantId } from '@app/authz';
import { NotFound, Page, ValidationFailed } from '@app/core';
import { RegionService } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { CatalogModelExists, CatalogModelInUse } from '../endpoints-problems';
import { CatalogModel, Modality } from './catalog-model.entity';

/** Who is looking: a tenant sees base models and its own fine-tuned ones; staff see every one. */
export type CatalogViewer = { kind: 'tenant'; tenantId: TenantId } | { kind: 'platform' };

export interface CatalogFilter {
  modality?: Modality;
  family?: string;
  region?: string;
  fineTunable?: boolean;
}

export interface NewBaseModel {
  id: string;
  family: string;
  modality: Modality;
  contextLength: number;
  regions: string[];
  gpuType: string;
  gpusPerReplica: number;
  fineTunable?: boolean;
}

export type BaseModelChanges = Partial<Omit<NewBaseModel, 'id' | 'family'>>;

/** What the fine-tuning library registers when a job succeeds. */
export interface NewFineTunedModel {
  /** `ft:{base}:{tenant}:{suffix}:{job}` (OpenAI's naming). */
  id: string;
  baseModelId: string;
  /** Where the trained weights are (a file path for the `local` provider). */
  artifactUri: string;
}

/**
 * The model catalog (API.md "Endpoints and catalog"): base models the operator offers, by
 * region and GPU type, and each tenant's fine-tuned models, which inherit their base's facts
 * and only their tenant sees (row-level security and the query both say so).
 */
@Injectable()
export class CatalogService {
  constructor(
    private readonly db: TenantDb,
    private readonly regions: RegionService,
  ) {}

  /** Models by id, `limit` per page after the id `after`. */
  async list(
    viewer: CatalogViewer,
    filter: CatalogFilter,
    limit: number,
    after?: string,
  ): Promise<Page<CatalogModel>> {
    const query = this.db.manager
      .getRepository(CatalogModel)
      .createQueryBuilder('m')
      .orderBy('m.id', 'ASC')
      .limit(limit + 1);
    if (viewer.kind === 'tenant') {
      query.where('(m.tenant_id IS NULL OR m.tenant_id = :tenantId)', {
        tenantId: viewer.tenantId,
      });
    }
    if (after) query.andWhere('m.id > :after', { after });
    if (filter.modality) query.andWhere('m.modality = :modality', { modality: filter.modality });
    if (filter.family) query.andWhere('m.family = :family', { family: filter.family });
    if (filter.region) query.andWhere(':region = ANY (m.regions)', { region: filter.region });
    if (filter.fineTunable !== undefined) {
      query.andWhere('m.fine_tunable = :ft', { ft: filter.fineTunable });
    }
    const rows = await query.getMany();
    const data = rows.slice(0, limit);
    return { data, nextCursor: rows.length > limit ? data[data.length - 1].id : null };
  }

  /** @throws NotFound when the viewer cannot see a model with this id. */
  async get(viewer: CatalogViewer, id: string): Promise<CatalogModel> {
    const model = await this.db.manager.getRepository(CatalogModel).findOneBy({ id });
    if (
      !model ||
      (viewer.kind === 'tenant' && model.tenantId && model.tenantId !== viewer.tenantId)
    ) {
      throw new NotFound(`No model "${id}" in the catalog.`);
    }
    return model;
  }

  /** The model a tenant may deploy under this id, or undefined (another tenant's is invisible). */
  async findForTenant(tenantId: TenantId, id: string): Promise<CatalogModel | undefined> {
    return this.get({ kind: 'tenant', tenantId }, id).catch((error) => {
      if (error instanceof NotFound) return undefined;
      throw error;
    });
  }

  /**
   * Adds a base model. @throws CatalogModelExists (409); ValidationFailed (400) for an unknown
   * region or one without GPUs of `gpuType`
   */
  async create(input: NewBaseModel): Promise<CatalogModel> {
    await this.assertPlaceable(input.regions, input.gpuType);
    const repository = this.db.manager.getRepository(CatalogModel);
    const inserted: { id: string }[] = await this.db.manager.query(
      `INSERT INTO catalog_models (id, family, modality, context_length, regions, gpu_type,
                                   gpus_per_replica, fine_tunable)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        input.id,
        input.family,
        input.modality,
        input.contextLength,
        input.regions,
        input.gpuType,
        input.gpusPerReplica,
        input.fineTunable ?? false,
      ],
    );
    if (inserted.length === 0) throw new CatalogModelExists(`Model "${input.id}" exists.`);
    return repository.findOneByOrFail({ id: input.id });
  }

  /**
   * Changes a base model. Endpoints keep the GPU type and count they were created with.
   *
   * @throws NotFound (fine-tuned models are changed by their job, not here); ValidationFailed;
   *   CatalogModelInUse (409) when a region being removed has endpoints of this model
   */
  async update(id: string, changes: BaseModelChanges): Promise<CatalogModel> {
    const repository = this.db.manager.getRepository(CatalogModel);
    const model = await repository.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!model || model.tenantId) throw new NotFound(`No base model "${id}" in the catalog.`);
    const given = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (given.length === 0) {
      throw new ValidationFailed('Nothing to change.', {
        errors: [{ path: '(body)', message: 'send at least one field to change' }],
      });
    }
    const regions = changes.regions ?? model.regions;
    await this.assertPlaceable(regions, changes.gpuType ?? model.gpuType);
    const removed = model.regions.filter((code) => !regions.includes(code));
    if (removed.length > 0) {
      // Every tenant's endpoints: the check must see them all (platform route, RLS bypassed).
      const [{ count }] = await this.db.manager.query(
        `SELECT count(*)::int AS count FROM endpoints
          WHERE model_id = $1 AND region = ANY($2) AND status <> 'deleted'`,
        [id, removed],
      );
      if (count > 0) {
        throw new CatalogModelInUse(
          `${count} endpoint(s) run ${id} in ${removed.join(', ')}; delete or move them first.`,
          { extensions: { endpointCount: count, regions: removed } },
        );
      }
    }
    await repository.update({ id }, { ...Object.fromEntries(given), updatedAt: () => 'now()' });
    return repository.findOneByOrFail({ id });
  }

  /**
   * Registers a tenant's fine-tuned model, with its base model's facts (family, modality,
   * regions, GPUs). Idempotent by id (a retried job registers once).
   *
   * @throws NotFound when the base model is not a base model the tenant can see
   */
  async registerFineTuned(tenantId: TenantId, input: NewFineTunedModel): Promise<CatalogModel> {
    const base = await this.get({ kind: 'tenant', tenantId }, input.baseModelId);
    if (base.tenantId) throw new NotFound(`No base model "${input.baseModelId}".`);
    await this.db.manager.query(
      `INSERT INTO catalog_models (id, tenant_id, family, modality, context_length, regions,
                                   gpu_type, gpus_per_replica, fine_tunable, base_model_id,
                                   artifact_uri)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9, $10) ON CONFLICT (id) DO NOTHING`,
      [
        input.id,
        tenantId,
        base.family,
        base.modality,
        base.contextLength,
        base.regions,
        base.gpuType,
        base.gpusPerReplica,
        base.id,
        input.artifactUri,
      ],
    );
    return this.get({ kind: 'tenant', tenantId }, input.id);
  }

  /** Every region must exist and have GPUs of the type (a positive capacity). */
  private async assertPlaceable(codes: string[], gpuType: string): Promise<void> {
    const known = new Map((await this.regions.all()).map((r) => [r.code, r]));
    const errors = codes.flatMap((code, i) => {
      const region = known.get(code);
      if (!region)
        return [{ path: `regions[${i}]`, message: `no region "${code}" in the catalog` }];
      if (!(region.gpuCapacity[gpuType] > 0)) {
        return [{ path: `regions[${i}]`, message: `${code} has no ${gpuType} GPUs` }];
      }
      return [];
    });
    if (errors.length > 0) throw new ValidationFailed('The model cannot be placed.', { errors });
  }
}
