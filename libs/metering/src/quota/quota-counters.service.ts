import { TenantDb, TenantId } from '@app/authz';
import {
  ContractService,
  ContractTerm,
  LEVEL_METRICS,
  periodContaining,
  QuotaMetric,
} from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import { UsageLedgerService } from '../usage/usage-ledger.service';
import { CounterKind, quotaKeys } from './quota-keys';
import { PlanLine, QuotaPlan } from './quota-plan.service';
import { QuotaRedis } from './quota-redis';

/** The far end of a level counter's window (usage of all time). */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');
const PERIOD_KINDS = ['term', 'month', 'day'] as const;

/** A usage event as the counters see it. */
export interface CountedUsage {
  tenantId: TenantId;
  metric: QuotaMetric;
  quantity: number;
  occurredAt: Date;
}

/**
 * Keeps the Redis counters equal to the ledger. Redis is a cache: a counter absent from Redis
 * (never loaded, expired after its period, or lost with Redis' data) is rebuilt from the ledger
 * before anything is reserved against it, and usage that reaches the ledger otherwise than
 * through a reservation raises the counters that are loaded.
 *
 * The two never race: ingestion raises counters under a shared transaction-level advisory lock
 * on the tenant, held until its rows commit, and a rebuild reads the ledger and loads the
 * counters under the exclusive one. So a rebuild sees every event whose counter increment it
 * could have missed, and an event committed after it finds its counter loaded.
 */
@Injectable()
export class QuotaCountersService {
  private readonly rebuilding = new Map<string, Promise<void>>();

  constructor(
    private readonly db: TenantDb,
    private readonly ledger: UsageLedgerService,
    private readonly contracts: ContractService,
    private readonly redis: QuotaRedis,
  ) {}

  /**
   * Rebuilds the given lines' counters from the ledger where they are still absent.
   *
   * @throws when PostgreSQL or Redis cannot be reached
   */
  rebuild(plan: QuotaPlan, lines: readonly PlanLine[]): Promise<void> {
    const flight = `${plan.tenantId}|${lines.map((line) => line.key).join('|')}`;
    let pending = this.rebuilding.get(flight);
    if (!pending) {
      pending = this.rebuildNow(plan.tenantId, lines).finally(() => this.rebuilding.delete(flight));
      this.rebuilding.set(flight, pending);
    }
    return pending;
  }

  private async rebuildNow(tenantId: TenantId, lines: readonly PlanLine[]): Promise<void> {
    await this.db.run(
      { kind: 'tenant', tenantId },
      async () => {
        // A reservation waits for this: bounded, so that a stuck database fails hard lines closed
        // instead of hanging the caller.
        await this.db.manager.query(
          `SELECT set_config('lock_timeout', '2s', true), set_config('statement_timeout', '5s', true)`,
        );
        await this.db.manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
          lockName(tenantId),
        ]);
        // Another replica may have loaded them while this one waited for the lock.
        const present = await Promise.all(lines.map((line) => this.redis.client.exists(line.key)));
        const missing = lines.filter((_, i) => present[i] === 0);
        if (missing.length === 0) return;
        const used = await this.ledger.usedIn(
          tenantId,
          missing.map((line) => ({
            metric: line.metric,
            from: line.periodStart,
            to: line.periodEnd ?? END_OF_TIME,
          })),
        );
        await this.redis.load(
          missing.map((line) => line.key),
          missing.flatMap((line, i) => [used[i].toString(), String(line.expireAtMs)]),
        );
        // On the reserved pool: the requests waiting for this rebuild may hold every connection
        // of the main one.
      },
      { reserved: true },
    );
  }

  /**
   * Takes the shared side of the tenants' ledger locks in the current transaction (ingestion),
   * in a fixed order so that two batches never wait on each other in a cycle.
   */
  async lockForIngestion(tenantIds: readonly TenantId[]): Promise<void> {
    if (tenantIds.length === 0) return;
    await this.db.manager.query(
      `SELECT pg_advisory_xact_lock_shared(hashtextextended(name, 0))
         FROM unnest($1::text[]) AS name ORDER BY name`,
      [[...new Set(tenantIds)].map(lockName)],
    );
  }

  /**
   * Raises the loaded counters by ingested usage, inside the ingesting transaction (after
   * {@link lockForIngestion}). Each event counts in its own period of every kind under the
   * contract in force when it occurred; events outside any contract count only toward levels.
   *
   * Raised ahead of the commit (see the class comment), so a transaction that then fails takes
   * the usage back out of the counters after its rollback ({@link TenantDb.afterRollback}).
   *
   * @throws when Redis cannot be reached: the caller's transaction must roll back, or the
   * counters would miss usage the ledger holds
   */
  async addUsage(events: readonly CountedUsage[]): Promise<void> {
    if (events.length === 0) return;
    const tenantIds = [...new Set(events.map((e) => e.tenantId))];
    const times = events.map((e) => e.occurredAt.getTime());
    const terms = await this.contracts.termsDuring(
      tenantIds,
      new Date(Math.min(...times)),
      new Date(Math.max(...times)),
    );
    const byTenant = new Map<TenantId, Map<string, bigint>>();
    const periods = new PeriodCache();
    for (const event of events) {
      const deltas = byTenant.get(event.tenantId) ?? new Map<string, bigint>();
      byTenant.set(event.tenantId, deltas);
      const add = (kind: CounterKind, startMs: number) => {
        const key = quotaKeys.counter(event.tenantId, event.metric, kind, startMs);
        deltas.set(key, (deltas.get(key) ?? 0n) + BigInt(event.quantity));
      };
      if (LEVEL_METRICS.has(event.metric)) {
        add('level', 0);
        continue;
      }
      const at = event.occurredAt.getTime();
      const term = terms.find(
        (t) =>
          t.tenantId === event.tenantId && t.termStart.getTime() <= at && at < t.termEnd.getTime(),
      );
      if (!term) continue;
      for (const kind of PERIOD_KINDS) add(kind, periods.startOf(term, kind, event.occurredAt));
    }
    await Promise.all(
      [...byTenant.values()]
        .filter((deltas) => deltas.size > 0)
        .map(async (deltas) => {
          const keys = [...deltas.keys()];
          const raised = await this.redis.addUsage(
            keys,
            keys.map((key) => deltas.get(key)!.toString()),
          );
          // Raised ahead of the commit: if the transaction rolls back, take it back out.
          const undo = keys.filter((_, i) => raised[i] === 1);
          if (undo.length > 0) {
            this.db.afterRollback(() =>
              this.redis.addUsage(
                undo,
                undo.map((key) => (-deltas.get(key)!).toString()),
              ),
            );
          }
        }),
    );
  }
}

function lockName(tenantId: string): string {
  return `usage:${tenantId}`;
}

/** Remembers the last period of each contract and kind (a batch's events mostly share it). */
class PeriodCache {
  private readonly last = new Map<string, { start: number; end: number }>();

  startOf(
    term: ContractTerm & { contractId: string },
    kind: (typeof PERIOD_KINDS)[number],
    at: Date,
  ): number {
    const id = `${term.contractId}:${kind}`;
    const t = at.getTime();
    const hit = this.last.get(id);
    if (hit && hit.start <= t && t < hit.end) return hit.start;
    const period = periodContaining(kind, at, term);
    this.last.set(id, { start: period.start.getTime(), end: period.end.getTime() });
    return period.start.getTime();
  }
}
