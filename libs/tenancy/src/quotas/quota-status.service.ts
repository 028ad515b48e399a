import { TenantId } from '@app/authz';
import { MAX_INSTANT } from '@app/core';
import { Inject, Injectable } from '@nestjs/common';
import { LEVEL_METRICS, QuotaEnforcement, QuotaMetric } from '../contracts/contract-terms';
import { ContractService } from '../contracts/contract.service';
import { periodContaining, QuotaPeriodKind } from '../contracts/periods';
import { USAGE_READER, UsageReader } from './usage-reader.port';

/** One quota line's standing (API.md `GET /v1/tenants/{tenantId}/quotas`). */
export interface QuotaLineStatus {
  metric: QuotaMetric;
  period: QuotaPeriodKind;
  enforcement: QuotaEnforcement;
  /** In the metric's unit. */
  limit: number;
  used: bigint;
  /** limit − used, never below 0. */
  remaining: bigint;
  /** used ÷ limit × 100, rounded half up to two decimals (may exceed 100 on soft lines). */
  percent: number;
  /** Usage above the limit (soft lines; 0 otherwise). */
  overage: bigint;
  periodStart: Date;
  periodEnd: Date;
}

export interface QuotaStatus {
  at: Date;
  contract: { id: string; contractNumber: string; version: number } | null;
  lines: QuotaLineStatus[];
}

/**
 * Quota status of a tenant: each line of the contract in force now with its current period
 * (periodContaining, anchored on the term start in the billing time zone) and the usage the
 * metering library reports for it. Level metrics (dedicated endpoints, concurrent jobs) report
 * the current level over the whole term.
 */
@Injectable()
export class QuotaStatusService {
  constructor(
    private readonly contracts: ContractService,
    @Inject(USAGE_READER) private readonly usage: UsageReader,
  ) {}

  async status(tenantId: TenantId, at = new Date()): Promise<QuotaStatus> {
    const view = await this.contracts.inForce(tenantId, at);
    if (!view) return { at, contract: null, lines: [] };
    const { contract } = view;
    const periods = view.quotaLines.map((line) =>
      periodContaining(LEVEL_METRICS.has(line.metric) ? 'term' : line.period, at, {
        termStart: contract.termStart,
        termEnd: contract.endsAt,
        timeZone: contract.billingTimeZone,
      }),
    );
    const used = await this.usage.usedIn(
      tenantId,
      view.quotaLines.map((line, i) => ({
        metric: line.metric,
        from: LEVEL_METRICS.has(line.metric) ? null : periods[i].start,
        // A level counts every delta recorded, as the reservation counters do (events may be
        // dated up to five minutes ahead).
        to: LEVEL_METRICS.has(line.metric) ? MAX_INSTANT : periods[i].end,
      })),
    );
    return {
      at,
      contract: {
        id: contract.id,
        contractNumber: contract.contractNumber,
        version: view.version.version,
      },
      lines: view.quotaLines.map((line, i) => {
        const limit = BigInt(line.limit);
        const u = used[i] < 0n ? 0n : used[i];
        return {
          metric: line.metric,
          period: line.period,
          enforcement: line.enforcement,
          limit: line.limit,
          used: u,
          remaining: u >= limit ? 0n : limit - u,
          percent: percentOf(u, limit),
          overage: u > limit ? u - limit : 0n,
          periodStart: periods[i].start,
          periodEnd: periods[i].end,
        };
      }),
    };
  }
}

/**
 * `used` as a percentage of `limit`, rounded half up to two decimals (5 of 3 → 166.67), in
 * integer arithmetic so that no usage is too large for it.
 */
export function percentOf(used: bigint, limit: bigint): number {
  // round(used × 10000 / limit) = floor((2 × used × 10000 + limit) / (2 × limit)), for used ≥ 0.
  return Number((used * 20000n + limit) / (2n * limit)) / 100;
}
