import { accessibleSql, AppAbility, TenantDb, TenantId } from '@app/authz';
import { decodeCursor, NotFound, Page, toPage } from '@app/core';
import { Injectable } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { TenantSlugTaken } from '../tenancy-problems';
import { Tenant } from './tenant.entity';

const TENANT_COLUMNS: Record<string, string> = { id: 't.id', slug: 't.slug', name: 't.name' };

interface TenantRow {
  id: string;
  slug: string;
  name: string;
  kind: 'customer' | 'platform';
  created_at: Date;
  updated_at: Date;
}

function toTenant(row: TenantRow): Tenant {
  return Object.assign(new Tenant(), {
    id: row.id,
    slug: row.slug,
    name: row.name,
    kind: row.kind,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

/** Customer tenants. Runs inside the request's scoped transaction ({@link TenantDb}). */
@Injectable()
export class TenantService {
  constructor(private readonly db: TenantDb) {}

  /**
   * @throws TenantSlugTaken (409) when the slug is in use.
   */
  async create(input: { slug: string; name: string }): Promise<Tenant> {
    const repository = this.db.manager.getRepository(Tenant);
    try {
      // A savepoint keeps the request's transaction usable after a unique violation.
      return await this.db.manager.transaction((manager) =>
        manager.getRepository(Tenant).save(repository.create({ ...input, kind: 'customer' })),
      );
    } catch (error) {
      if (
        error instanceof QueryFailedError &&
        (error.driverError as { code?: string }).code === '23505'
      ) {
        throw new TenantSlugTaken(`A tenant with slug "${input.slug}" already exists.`);
      }
      throw error;
    }
  }

  /**
   * Customer tenants the ability may read (its rules as SQL), oldest first, `limit` per page.
   *
   * @throws ValidationFailed for a forged cursor.
   */
  async list(ability: AppAbility, limit: number, after?: string): Promise<Page<Tenant>> {
    const where = accessibleSql(ability, 'read', 'Tenant', (field) => TENANT_COLUMNS[field]);
    const params: unknown[] = [...where.params];
    let keyset = '';
    if (after) {
      const cursor = decodeCursor(after);
      params.push(cursor.k, cursor.id);
      keyset = `AND (t.created_at, t.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit + 1);
    const rows: (TenantRow & { cursor_at: string })[] = await this.db.manager.query(
      `SELECT t.*, to_json(t.created_at) #>> '{}' AS cursor_at FROM tenants t
        WHERE t.kind = 'customer' AND ${where.sql} ${keyset}
        ORDER BY t.created_at, t.id LIMIT $${params.length}`,
      params,
    );
    const page = toPage(rows, limit, (row) => ({ k: row.cursor_at, id: row.id }));
    return { data: page.data.map(toTenant), nextCursor: page.nextCursor };
  }

  /** @throws NotFound when the tenant is not visible in this scope. */
  async get(tenantId: TenantId): Promise<Tenant> {
    const tenant = await this.db.manager
      .getRepository(Tenant)
      .findOneBy({ id: tenantId, kind: 'customer' });
    if (!tenant) throw new NotFound('No such tenant.');
    return tenant;
  }
}
