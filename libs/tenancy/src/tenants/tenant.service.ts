import {
  accessibleSql,
  AppAbility,
  isPlatformPrincipal,
  Principal,
  TenantDb,
  TenantId,
} from '@app/authz';
import { Actor, actorRef, decodeCursor, NotFound, Page, RequestContext, toPage } from '@app/core';
import type { AuditRetentionPolicy, AuditRetentionSource } from '@app/audit';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { QUOTA_PLAN_LISTENER, QuotaPlanListener } from '../quotas/quota-plan-listener.port';
import { MoreThan, QueryFailedError } from 'typeorm';
import { AccountManagerAssignment } from '../account-managers/account-manager-assignment.entity';
import {
  ComplianceProfile,
  complianceProfileErrors,
  DEFAULT_COMPLIANCE_PROFILE,
  storedProfile,
} from '../compliance/compliance-profile';
import { OFFBOARDING_TERMINATION_REASON, terminationAt } from '../contracts/contract-lifecycle';
import { Contract } from '../contracts/contract.entity';
import { RegionService } from '../regions/region.service';
import {
  IllegalTenantTransition,
  InvalidComplianceProfile,
  TenantOffboarded,
  TenantSlugTaken,
} from '../tenancy-problems';
import { nextTenantStatus, TenantLifecycleAction, TenantStatus } from './tenant-lifecycle';
import { ComplianceProfileVersion, Tenant } from './tenant.entity';

const TENANT_COLUMNS: Record<string, string> = { id: 't.id', slug: 't.slug', name: 't.name' };

interface TenantRow {
  id: string;
  slug: string;
  name: string;
  kind: 'customer' | 'platform';
  status: TenantStatus;
  status_reason: string | null;
  status_changed_at: Date | null;
  billing_time_zone: string;
  compliance_profile: Partial<ComplianceProfile>;
  compliance_profile_version: number;
  created_at: Date;
  updated_at: Date;
}

function toTenant(row: TenantRow): Tenant {
  return Object.assign(new Tenant(), {
    id: row.id,
    slug: row.slug,
    name: row.name,
    kind: row.kind,
    status: row.status,
    statusReason: row.status_reason,
    statusChangedAt: row.status_changed_at,
    billingTimeZone: row.billing_time_zone,
    complianceProfile: row.compliance_profile,
    complianceProfileVersion: row.compliance_profile_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

export interface CreateTenantInput {
  slug: string;
  name: string;
  /** Default {@link DEFAULT_COMPLIANCE_PROFILE}: nothing permitted until staff set one. */
  complianceProfile?: ComplianceProfile;
  /** IANA time zone; default `UTC`. */
  billingTimeZone?: string;
}

/** Customer tenants. Runs inside the request's scoped transaction ({@link TenantDb}). */
@Injectable()
export class TenantService implements AuditRetentionSource {
  constructor(
    private readonly db: TenantDb,
    private readonly context: RequestContext,
    private readonly regions: RegionService,
    @Optional() @Inject(QUOTA_PLAN_LISTENER) private readonly planListener?: QuotaPlanListener,
  ) {}

  /**
   * Creates a tenant in `onboarding` with version 1 of its compliance profile. When the creator
   * is an account manager signed in as a person (operator staff), they are assigned to the new
   * tenant in the same transaction, so they reach it from their next request; an API key holding
   * the role is not a person and gets no assignment (assignments are per person).
   *
   * @throws InvalidComplianceProfile (422) when the profile breaks a catalog rule
   * @throws TenantSlugTaken (409) when the slug is in use
   */
  async create(input: CreateTenantInput, creator: Principal): Promise<Tenant> {
    const by = creator.actor;
    const profile = input.complianceProfile ?? DEFAULT_COMPLIANCE_PROFILE;
    await this.assertProfileValid(profile, 'complianceProfile.');
    const assignCreator =
      by.type === 'user' &&
      isPlatformPrincipal(creator) &&
      creator.roles.includes('account_manager');
    try {
      // A savepoint keeps the request's transaction usable after a unique violation.
      return await this.db.manager.transaction(async (manager) => {
        const tenant = await manager.getRepository(Tenant).save(
          manager.getRepository(Tenant).create({
            slug: input.slug,
            name: input.name,
            kind: 'customer',
            status: 'onboarding',
            billingTimeZone: input.billingTimeZone ?? 'UTC',
            complianceProfile: profile,
            complianceProfileVersion: 1,
          }),
        );
        await manager
          .getRepository(ComplianceProfileVersion)
          .insert({ tenantId: tenant.id, version: 1, profile, createdBy: actorRef(by) });
        if (assignCreator) {
          await manager
            .getRepository(AccountManagerAssignment)
            .insert({ tenantId: tenant.id, userId: by.id, createdBy: actorRef(by) });
        }
        return tenant;
      });
    } catch (error) {
      if (
        error instanceof QueryFailedError &&
        (error.driverError as { code?: string }).code === '23505'
      ) {
        throw new TenantSlugTaken(`A tenant with slug "${input.slug}" already exists.`, {
          errors: [{ path: 'slug', message: 'is already in use' }],
        });
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

  /**
   * A tenant by its slug, for unauthenticated entry points that name the tenant in the path
   * (SAML `/sso/saml/{tenantSlug}/...`): one platform-scoped lookup of id, slug, name and
   * status. The operator's own organization (`platform`) is found too: staff sign in through
   * its SAML connection. @returns undefined when no tenant has that slug
   */
  async findBySlug(
    slug: string,
  ): Promise<{ id: TenantId; slug: string; name: string; status: TenantStatus } | undefined> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) return undefined;
    const rows: { id: TenantId; slug: string; name: string; status: TenantStatus }[] =
      await this.db.asPlatform('tenant by slug (SSO entry points)', (manager) =>
        manager.query(`SELECT id, slug, name, status FROM tenants WHERE slug = $1`, [slug]),
      );
    return rows[0];
  }

  /**
   * A tenant's slug, name and status whatever its kind, in the current scope: for SSO
   * configuration, whose routes also configure the operator's own staff sign-in ({@link get}
   * sees customers only). @throws NotFound when the tenant is not visible in this scope.
   */
  async signInTarget(tenantId: TenantId): Promise<Pick<Tenant, 'id' | 'slug' | 'name' | 'status'>> {
    const tenant = await this.db.manager.getRepository(Tenant).findOne({
      select: { id: true, slug: true, name: true, status: true },
      where: { id: tenantId },
    });
    if (!tenant) throw new NotFound('No such tenant.');
    return tenant;
  }

  /**
   * Moves the tenant through its lifecycle ({@link TENANT_TRANSITIONS}). The row is locked, so
   * concurrent changes apply one after the other, and tenancy writes in flight (which hold it
   * FOR SHARE, {@link assertWritable}) finish first. A suspended tenant's own keys and sessions
   * get 403 `tenant_suspended` from the next request on; an offboarded tenant's stop
   * authenticating, and every later write to it answers 409 `tenant_offboarded`.
   *
   * Offboarding also terminates, in the same transaction, every active contract that has not
   * ended (the one in force, and any activated for a later term), with the reason
   * "tenant offboarded".
   *
   * @throws IllegalTenantTransition (409) when the table does not allow `action` now
   * @throws NotFound when the tenant is not visible
   */
  async transition(
    tenantId: TenantId,
    action: TenantLifecycleAction,
    reason: string | undefined,
  ): Promise<Tenant> {
    const tenant = await this.lock(tenantId);
    this.context.recordBefore({ status: tenant.status, statusReason: tenant.statusReason });
    const next = nextTenantStatus(tenant.status, action);
    if (!next) {
      throw new IllegalTenantTransition(`Cannot ${action} a tenant that is ${tenant.status}.`, {
        extensions: { tenantStatus: tenant.status, action },
      });
    }
    const now = new Date();
    tenant.status = next;
    tenant.statusReason = reason ?? null;
    tenant.statusChangedAt = now;
    if (next === 'offboarded') await this.terminateContracts(tenantId, now);
    this.planListener?.planMayHaveChanged(tenantId);
    return this.db.manager.getRepository(Tenant).save(tenant);
  }

  /**
   * Replaces the compliance profile: a new version, in force from the next request.
   *
   * @throws InvalidComplianceProfile (422) when the profile breaks a catalog rule
   * @throws TenantOffboarded (409) for an offboarded tenant
   * @throws NotFound when the tenant is not visible
   */
  async replaceComplianceProfile(
    tenantId: TenantId,
    profile: ComplianceProfile,
    by: Actor,
  ): Promise<Tenant> {
    const tenant = await this.lock(tenantId);
    this.context.recordBefore({
      ...storedProfile(tenant.complianceProfile),
      version: tenant.complianceProfileVersion,
    });
    if (tenant.status === 'offboarded') {
      throw new TenantOffboarded('The tenant is offboarded; its profile no longer changes.');
    }
    await this.assertProfileValid(profile, '');
    tenant.complianceProfile = profile;
    tenant.complianceProfileVersion += 1;
    await this.db.manager.getRepository(ComplianceProfileVersion).insert({
      tenantId,
      version: tenant.complianceProfileVersion,
      profile,
      createdBy: actorRef(by),
    });
    return this.db.manager.getRepository(Tenant).save(tenant);
  }

  /** Versions of the tenant's profile, oldest first. @throws ValidationFailed for a forged cursor. */
  async profileVersions(
    tenantId: TenantId,
    limit: number,
    after?: string,
  ): Promise<Page<ComplianceProfileVersion>> {
    const query = this.db.manager
      .getRepository(ComplianceProfileVersion)
      .createQueryBuilder('v')
      .where('v.tenant_id = :tenantId', { tenantId })
      .orderBy('v.version', 'ASC')
      .limit(limit + 1);
    if (after) {
      const cursor = decodeCursor(after, 'integer');
      query.andWhere('v.version > :version', { version: Number(cursor.k) });
    }
    return toPage(await query.getMany(), limit, (v) => ({ k: String(v.version), id: tenantId }));
  }

  /**
   * Throws unless the tenant exists and is not offboarded; for other tenancy writes (contracts),
   * called before they lock anything else. The tenant row stays locked FOR SHARE until the
   * transaction ends, so such a write and the offboarding transition (which locks the row FOR
   * UPDATE) serialize: a write that waited for an offboarding sees `offboarded` and is refused,
   * and an offboarding that waited for a write sees (and terminates) what it activated. The
   * request transaction already refused writes to a tenant offboarded before it began.
   *
   * @throws NotFound | TenantOffboarded (409)
   */
  async assertWritable(tenantId: TenantId): Promise<Tenant> {
    const tenant = await this.db.manager.getRepository(Tenant).findOne({
      where: { id: tenantId, kind: 'customer' },
      lock: { mode: 'pessimistic_read' },
    });
    if (!tenant) throw new NotFound('No such tenant.');
    if (tenant.status === 'offboarded') {
      throw new TenantOffboarded('The tenant is offboarded; its data no longer changes.');
    }
    return tenant;
  }

  /**
   * Each customer tenant's audit retention (its compliance profile's `auditRetentionDays`), for
   * the audit library's retention job. Reads platform-wide (a job, no request tenant).
   */
  retentionPolicies(): Promise<AuditRetentionPolicy[]> {
    return this.db.asPlatform('audit retention policies', async (manager) => {
      const rows: { id: string; days: number | null }[] = await manager.query(
        `SELECT id, (compliance_profile ->> 'auditRetentionDays')::int AS days
           FROM tenants WHERE kind = 'customer'`,
      );
      return rows.map((row) => ({
        tenantId: row.id,
        days: row.days ?? DEFAULT_COMPLIANCE_PROFILE.auditRetentionDays,
      }));
    });
  }

  /** Terminates the tenant's active contracts that have not ended (offboarding). */
  private async terminateContracts(tenantId: TenantId, now: Date): Promise<void> {
    const repository = this.db.manager.getRepository(Contract);
    const contracts = await repository.find({
      where: { tenantId, status: 'active', endsAt: MoreThan(now) },
      lock: { mode: 'pessimistic_write' },
    });
    for (const contract of contracts) {
      await repository.update(
        { id: contract.id, tenantId },
        terminationAt(contract, now, OFFBOARDING_TERMINATION_REASON),
      );
    }
  }

  private async lock(tenantId: TenantId): Promise<Tenant> {
    const tenant = await this.db.manager.getRepository(Tenant).findOne({
      where: { id: tenantId, kind: 'customer' },
      lock: { mode: 'pessimistic_write' },
    });
    if (!tenant) throw new NotFound('No such tenant.');
    return tenant;
  }

  private async assertProfileValid(profile: ComplianceProfile, prefix: string): Promise<void> {
    // Locked FOR SHARE until the profile commits, so a concurrent region change that would
    // break it waits and then sees it (RegionService.update refuses with region_in_use).
    const errors = complianceProfileErrors(profile, await this.regions.allLocked(), prefix);
    if (errors.length > 0) {
      throw new InvalidComplianceProfile(
        `${errors.length} compliance rule${errors.length === 1 ? ' is' : 's are'} not met.`,
        { errors },
      );
    }
  }
}
