import { TenantDb } from '@app/authz';
import { NotFound, Page } from '@app/core';
import { Injectable } from '@nestjs/common';
import { RegionExists } from '../tenancy-problems';
import type { Certification } from '../compliance/compliance-profile';
import { Region } from './region.entity';

export interface RegionFilter {
  dataZone?: string;
  certification?: Certification;
}

/** The region catalog (platform-wide). Runs inside the request's transaction ({@link TenantDb}). */
@Injectable()
export class RegionService {
  constructor(private readonly db: TenantDb) {}

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

  /** @throws NotFound for an unknown code. */
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
    if (changes.name !== undefined) region.name = changes.name;
    if (changes.certifications !== undefined)
      region.certifications = [...changes.certifications].sort();
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
}
