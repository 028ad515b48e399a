import type { TenantId } from '@app/authz';
import type { QuotaMetric } from '../contracts/contract-terms';

/** One usage question: the sum of `metric` over occurrences in [from, to). */
export interface UsageWindow {
  metric: QuotaMetric;
  /** Inclusive; `null` for "since the beginning" (levels such as dedicated endpoints). */
  from: Date | null;
  /** Exclusive. */
  to: Date;
}

/**
 * What quota status needs from the metering library (which implements it and binds
 * {@link USAGE_READER}), so tenancy never reads metering's tables. Runs in the caller's scoped
 * transaction.
 */
export interface UsageReader {
  /**
   * @returns the used quantity of each window, in the metric's unit, as bigint, in order
   */
  usedIn(tenantId: TenantId, windows: readonly UsageWindow[]): Promise<bigint[]>;
}
export const USAGE_READER = Symbol('USAGE_READER');
