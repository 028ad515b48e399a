import { TenantDb } from '@app/authz';
import { NotFound, Page, RequestContext } from '@app/core';
import { Injectable } from '@nestjs/common';
import { RegionExists, RegionInUse } from '../tenancy-problems';
import type { Certification } from '../compliance/compliance-profile';
import { Region } from './region.entity';

/** How many affected tenants a `region_in_use` problem lists (it counts them all). */
const MAX_LISTED_TENANTS = 20;

export interface RegionFilter {
  dataZone?: string;
  certification?: Certification;
}

/** The region catalog (platform-wide). Runs inside the request's transaction ({@link TenantDb}). */
@Injectable()
export class RegionService {
  constructor(
    private readonly db: TenantDb,
    private readonly context: RequestContext,
  ) {}

  /** @throws RegionExists (409) when the code is taken. */
  async create(input: {
    code: string;
    name: string;
    dataZone: string;
    certifications: Certification[];
    gpuCapacity: Record<string, number>;
  }): Promise<Region> {
    const repository = this.db.manager.getRepository(Region);
    const inserted = await repository
      .createQueryBuilder()
      .insert()
      .values({ ...input, certifications: [...input.certifications].sort() })
      .orIgnore()
      .returning('*')
      .execute();
    if (inserted.raw.length === 0) throw new RegionExists(`Region "${input.code}" exists.`);
    return repository.findOneByOrFail({ code: input.code });
  }

  /**
   * Changes a region. Removing a certification is refused while a tenant that is not offboarded
   * allows the region (by code or by its data zone) and requires that certification: its
   * profile would silently stop permitting the region. Runs platform-wide (staff route), so it
   * sees every tenant's profile; the region row is locked first, and profile changes hold the
   * catalog FOR SHARE while they validate, so neither can slip past the other.
   *
   * @throws NotFound for an unknown code
   * @throws RegionInUse (409) naming the affected tenants (up to 20) and their count
   */
  async update(
    code: string,
    changes: {
      name?: string;
      certifications?: Certification[];
      gpuCapacity?: Record<string, number>;
    },
  ): Promise<Region> {
    const repository = this.db.manager.getRepository(Region);
    const region = await repository.findOne({
      where: { code },
      lock: { mode: 'pessimistic_write' },
    });
    if (!region) throw new NotFound(`No region "${code}".`);
    this.context.recordBefore({
      name: region.name,
      certifications: region.certifications,
      gpuCapacity: region.gpuCapacity,
    });
    if (changes.name !== undefined) region.name = changes.name;
    if (changes.certifications !== undefined) {
      const kept = new Set<string>(changes.certifications);
      const removed = region.certifications.filter((c) => !kept.has(c));
      if (removed.length > 0) await this.assertUnused(region, removed);
      region.certifications = [...changes.certifications].sort();
    }
    if (changes.gpuCapacity !== undefined) region.gpuCapacity = changes.gpuCapacity;
    return repository.save(region);
  }

  /** @throws NotFound for an unknown code. */
  async get(code: string): Promise<Region> {
    const region = await this.db.manager.getRepository(Region).findOneBy({ code });
    if (!region) throw new NotFound(`No region "${code}".`);
    return region;
  }

  /** Regions by code, `limit` per page after the code `after`. */
  async list(filter: RegionFilter, limit: number, after?: string): Promise<Page<Region>> {
    const query = this.db.manager
      .getRepository(Region)
      .createQueryBuilder('r')
      .orderBy('r.code', 'ASC')
      .limit(limit + 1);
    if (after) query.andWhere('r.code > :after', { after });
    if (filter.dataZone) query.andWhere('r.data_zone = :zone', { zone: filter.dataZone });
    if (filter.certification) {
      query.andWhere(':cert = ANY (r.certifications)', { cert: filter.certification });
    }
    const rows = await query.getMany();
    const data = rows.slice(0, limit);
    return { data, nextCursor: rows.length > limit ? data[data.length - 1].code : null };
  }

  /** Every region, for checking compliance profiles against the catalog. */
  all(): Promise<Region[]> {
    return this.db.manager.getRepository(Region).find({ order: { code: 'ASC' } });
  }

  /**
   * Every region, locked FOR SHARE until the transaction ends: for validating a compliance
   * profile that is about to be written, so that {@link update} cannot remove what it relies on
   * in between (it waits, then sees the new profile).
   */
  allLocked(): Promise<Region[]> {
    return this.db.manager
      .getRepository(Region)
      .find({ order: { code: 'ASC' }, lock: { mode: 'pessimistic_read' } });
  }

  /** @throws RegionInUse when live tenants allow `region` and require one of `removed`. */
  private async assertUnused(region: Region, removed: string[]): Promise<void> {
    const rows: { id: string; total: string }[] = await this.db.manager.query(
      `SELECT id, count(*) OVER () AS total FROM tenants
        WHERE kind = 'customer' AND status <> 'offboarded'
          AND (compliance_profile -> 'allowedRegions' ? $1
               OR compliance_profile -> 'allowedDataZones' ? $2)
          AND compliance_profile -> 'requiredCertifications' ?| $3::text[]
        ORDER BY created_at, id
        LIMIT ${MAX_LISTED_TENANTS}`,
      [region.code, region.dataZone, removed],
    );
    if (rows.length === 0) return;
    const count = Number(rows[0].total);
    throw new RegionInUse(
      `${count} tenant${count === 1 ? ' allows' : 's allow'} region ${region.code} (or data zone ${region.dataZone}) and require${count === 1 ? 's' : ''} ${removed.join(', ')}; change ${count === 1 ? 'its profile' : 'their profiles'} first.`,
      {
        errors: [
          {
            path: 'certifications',
            message: `must keep ${removed.join(', ')}: tenants allowing this region require ${removed.length === 1 ? 'it' : 'them'}`,
          },
        ],
        extensions: {
          tenantIds: rows.map((row) => row.id),
          tenantCount: count,
          certifications: removed,
        },
      },
    );
  }
}
