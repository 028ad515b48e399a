import { TenantDb, TenantId } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import {
  ContractService,
  LEVEL_METRICS,
  periodContaining,
  QuotaEnforcement,
  QuotaMetric,
  QuotaPeriodKind,
  QuotaPlanListener,
} from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CounterKind, quotaKeys } from './quota-keys';
import { QuotaRedis } from './quota-redis';

/** How long past its period a counter stays in Redis, for late usage events, ms. */
export const COUNTER_GRACE_MS = 7 * 24 * 3600 * 1000;

/** One quota line as enforced now: its current period and counter. */
export interface PlanLine {
  metric: QuotaMetric;
  /** As written in the contract. */
  period: QuotaPeriodKind;
  kind: CounterKind;
  enforcement: QuotaEnforcement;
  /** In the metric's unit. */
  limit: number;
  /** Null for `level` lines (no period). */
  periodStart: Date | null;
  periodEnd: Date | null;
  /** Redis key of the counter (without the connection's prefix). */
  key: string;
  /** When the counter may leave Redis (ms since the epoch), 0 for never. */
  expireAtMs: number;
}

/** A tenant's quota lines in force now, as every reservation until `validUntilMs` sees them. */
export interface QuotaPlan {
  tenantId: TenantId;
  /** The Redis plan token this plan was read under (see quota-scripts.ts). */
  token: string;
  contract: { id: string; contractNumber: string; version: number } | null;
  /** The lines of each metric (a metric no line covers is absent: unlimited). */
  byMetric: ReadonlyMap<QuotaMetric, PlanLine[]>;
  /** The plan is re-read at this instant (a period ends, an amendment takes effect), ms. */
  validUntilMs: number;
}

/**
 * Tenancy's hook ({@link QuotaPlanListener}): a contract or the tenant changed inside the
 * current transaction. Once it commits, the tenant gets a new plan token, and every replica's
 * next reservation re-reads the plan. (Separate from {@link QuotaPlanService}, which reads
 * contracts, so that the contract service can depend on it.)
 */
@Injectable()
export class QuotaPlanInvalidator implements QuotaPlanListener {
  private readonly logger = new Logger('QuotaPlan');

  constructor(
    private readonly db: TenantDb,
    private readonly redis: QuotaRedis,
  ) {}

  planMayHaveChanged(tenantId: TenantId): void {
    const renew = () =>
      this.redis.client.set(quotaKeys.plan(tenantId), randomUUID()).catch((error: Error) => {
        // Replicas re-read plans within QUOTA_PLAN_MAX_AGE_MS anyway.
        this.logger.warn(`could not renew the quota plan token of ${tenantId}: ${error.message}`);
      });
    this.db.afterCommit(renew);
  }
}

/**
 * Tenants' quota plans: the contract in force, its lines and their current periods, cached per
 * replica. The cache is never trusted blindly: every reservation passes the plan's token to the
 * reserve script, which answers `stale` when the tenant's token in Redis differs. A contract
 * change replaces the token once its transaction commits ({@link QuotaPlanInvalidator}), so every
 * replica re-reads the plan on its next reservation; a Redis that lost its data has no token, so
 * plans are re-read then too. The token is read before the contract, so a plan can only be
 * older than its token, never newer.
 */
@Injectable()
export class QuotaPlanService {
  private readonly cache = new Map<TenantId, QuotaPlan>();
  private readonly loading = new Map<TenantId, Promise<QuotaPlan>>();

  constructor(
    private readonly db: TenantDb,
    private readonly contracts: ContractService,
    private readonly redis: QuotaRedis,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * The tenant's plan, from the cache while valid.
   *
   * @throws when Redis or PostgreSQL cannot be reached (callers fail closed or open)
   */
  async get(tenantId: TenantId, now = Date.now()): Promise<QuotaPlan> {
    const cached = this.cache.get(tenantId);
    if (cached && now < cached.validUntilMs) return cached;
    let pending = this.loading.get(tenantId);
    if (!pending) {
      pending = this.load(tenantId).finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, pending);
    }
    return pending;
  }

  /** The last plan read for the tenant, however old (for deciding while a reload fails). */
  lastKnown(tenantId: TenantId): QuotaPlan | undefined {
    return this.cache.get(tenantId);
  }

  /** Forgets this replica's copy (the reserve script said it is stale). */
  invalidate(tenantId: TenantId, token: string): void {
    if (this.cache.get(tenantId)?.token === token) this.cache.delete(tenantId);
  }

  private async load(tenantId: TenantId): Promise<QuotaPlan> {
    const key = quotaKeys.plan(tenantId);
    const fresh = randomUUID();
    const previous = await this.redis.client.set(key, fresh, 'NX', 'GET');
    const token = previous ?? fresh;
    const at = new Date();
    const { view, nextChange } = await this.db.run(
      { kind: 'tenant', tenantId },
      async () => {
        const view = await this.contracts.inForce(tenantId, at);
        const nextChange = view
          ? await this.contracts.nextChangeAfter(tenantId, view.contract.id, at)
          : null;
        return { view, nextChange };
      },
      // On the reserved pool: the requests waiting for this plan may hold every connection of
      // the main one (TenantDb `reserved`).
      { readOnly: true, reserved: true },
    );
    let validUntilMs = at.getTime() + this.config.QUOTA_PLAN_MAX_AGE_MS;
    const lines: PlanLine[] = [];
    if (view) {
      const { contract } = view;
      const term = {
        termStart: contract.termStart,
        termEnd: contract.endsAt,
        timeZone: contract.billingTimeZone,
      };
      validUntilMs = Math.min(validUntilMs, contract.endsAt.getTime());
      if (nextChange) validUntilMs = Math.min(validUntilMs, nextChange.getTime());
      for (const line of view.quotaLines) {
        const level = LEVEL_METRICS.has(line.metric);
        const kind: CounterKind = level ? 'level' : line.period;
        const period = level ? null : periodContaining(line.period, at, term);
        if (period) validUntilMs = Math.min(validUntilMs, period.end.getTime());
        lines.push({
          metric: line.metric,
          period: line.period,
          kind,
          enforcement: line.enforcement,
          limit: line.limit,
          periodStart: period?.start ?? null,
          periodEnd: period?.end ?? null,
          key: quotaKeys.counter(tenantId, line.metric, kind, period?.start.getTime() ?? 0),
          expireAtMs: period ? period.end.getTime() + COUNTER_GRACE_MS : 0,
        });
      }
    }
    const byMetric = new Map<QuotaMetric, PlanLine[]>();
    for (const line of lines)
      byMetric.set(line.metric, [...(byMetric.get(line.metric) ?? []), line]);
    const plan: QuotaPlan = {
      tenantId,
      token,
      contract: view
        ? {
            id: view.contract.id,
            contractNumber: view.contract.contractNumber,
            version: view.version.version,
          }
        : null,
      byMetric,
      validUntilMs,
    };
    this.cache.set(tenantId, plan);
    return plan;
  }
}
