import { FieldError, MAX_INSTANT } from '@app/core';
import { DateTime } from 'luxon';
import type { QuotaPeriodKind } from './periods';

/** What a quota line counts (API.md, Contracts and quotas). */
export const QUOTA_METRICS = [
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'requests',
  'gpu_hours',
  'training_tokens',
  'dedicated_endpoints',
  'concurrent_fine_tuning_jobs',
] as const;
export type QuotaMetric = (typeof QUOTA_METRICS)[number];

/**
 * Metrics that cap a level (how many exist at once) rather than a sum over a period; their
 * lines use the `term` period and their usage is the current level.
 */
export const LEVEL_METRICS: ReadonlySet<QuotaMetric> = new Set([
  'dedicated_endpoints',
  'concurrent_fine_tuning_jobs',
]);

export const QUOTA_PERIODS: readonly QuotaPeriodKind[] = ['term', 'month', 'day'];
export const QUOTA_ENFORCEMENTS = ['hard', 'soft'] as const;
export type QuotaEnforcement = (typeof QUOTA_ENFORCEMENTS)[number];
export const BILLING_MODELS = ['prepaid', 'postpaid_commitment'] as const;
export type BillingModel = (typeof BILLING_MODELS)[number];

/** ISO 4217 codes, from the ICU data bundled with Node.js (`Intl.supportedValuesOf`). */
export const CURRENCIES: readonly string[] = Intl.supportedValuesOf('currency');

/** The longest term a contract may have (multi-year deals), in years. */
export const MAX_TERM_YEARS = 10;

export interface CreditTier {
  /** Monthly availability (percent) below which the credit applies. */
  below: number;
  /** Percent of the month's committed fee credited. */
  creditPercent: number;
}

/** SLA terms of a contract (measured by the SLA library). */
export interface SlaTerms {
  /** Percent, e.g. 99.9. */
  availabilityTarget: number;
  /** p95 total latency target, milliseconds. */
  latencyP95Ms?: number;
  /** p95 time-to-first-byte target, milliseconds. */
  ttfbP95Ms?: number;
  /** Availability is measured per calendar month in the contract's billing time zone. */
  measurementWindow: 'calendar_month';
  creditTiers: CreditTier[];
}

export interface QuotaLineTerms {
  metric: QuotaMetric;
  period: QuotaPeriodKind;
  enforcement: QuotaEnforcement;
  limit: number;
  overageUnitPriceMinor?: number | null;
}

/** The terms of a contract (draft fields may be missing until activation). */
export interface ContractTerms {
  termStart: Date;
  termEnd: Date;
  currency?: string | null;
  committedSpendMinor?: number | null;
  billingModel?: BillingModel | null;
  sla?: SlaTerms | null;
  quotaLines: QuotaLineTerms[];
}

/** The default term end: one year after the start, in the billing time zone. */
export function defaultTermEnd(termStart: Date, timeZone: string): Date {
  return DateTime.fromJSDate(termStart, { zone: timeZone }).plus({ years: 1 }).toJSDate();
}

/**
 * The end of a renewal: a term that starts when `termEnd` does and lasts as long as
 * [termStart, termEnd), measured in calendar terms in the billing time zone, first match wins:
 * - **whole months**: the term is n months counted from its start's local date and time (with
 *   Luxon's month arithmetic, which ends a month on the last day of a shorter month, so a term
 *   Jan 31 → Feb 28 is one month); the renewal ends n months after its own start;
 * - **whole local days**: the term is n local days (a DST day counts as one), the renewal ends n
 *   local days after its start, at the same local time;
 * - otherwise the same number of milliseconds.
 *
 * The renewal's anchor is its own start (the old term's end), as for its quota periods
 * (`periodContaining` counts months from a contract's own start): Jan 31 → Feb 28 renews as
 * Feb 28 → Mar 28, exactly one of the renewal's own monthly periods. Carrying the old anchor day
 * over (Feb 28 → Mar 31) would leave the renewal a short stub period (Mar 28 → Mar 31) with a
 * whole month's quota; a client that wants the 31st sends `termEnd`.
 */
export function renewalTermEnd(termStart: Date, termEnd: Date, timeZone: string): Date {
  const start = DateTime.fromJSDate(termStart, { zone: timeZone });
  const end = DateTime.fromJSDate(termEnd, { zone: timeZone });
  const months = (end.year - start.year) * 12 + (end.month - start.month);
  if (months > 0 && start.plus({ months }).toMillis() === end.toMillis()) {
    return end.plus({ months }).toJSDate();
  }
  const days = Math.round(end.startOf('day').diff(start.startOf('day'), 'days').days);
  if (days > 0 && start.plus({ days }).toMillis() === end.toMillis()) {
    return end.plus({ days }).toJSDate();
  }
  return new Date(termEnd.getTime() + (termEnd.getTime() - termStart.getTime()));
}

/** The longest contract number (the column's CHECK). */
export const MAX_CONTRACT_NUMBER_LENGTH = 64;

/**
 * The n-th renewal number of `stem`: `ACME-2027` → `ACME-2027-R<n>`, the stem cut so that the
 * number stays within {@link MAX_CONTRACT_NUMBER_LENGTH} characters.
 */
export function renewalNumber(stem: string, n: number): string {
  const suffix = `-R${n}`;
  return stem.slice(0, MAX_CONTRACT_NUMBER_LENGTH - suffix.length) + suffix;
}

/** The stem and the first renewal index to try: `ACME-2027` → R1; `ACME-2027-R1` → R2. */
export function renewalNumbering(contractNumber: string): { stem: string; next: number } {
  const match = /^(.*)-R(\d{1,6})$/.exec(contractNumber);
  return match ? { stem: match[1], next: Number(match[2]) + 1 } : { stem: contractNumber, next: 1 };
}

/** `ACME-2027` → `ACME-2027-R1`; `ACME-2027-R1` → `ACME-2027-R2` (the first one to try). */
export function nextRenewalNumber(contractNumber: string): string {
  const { stem, next } = renewalNumbering(contractNumber);
  return renewalNumber(stem, next);
}

/**
 * Rules across fields that a DTO's per-field checks cannot see, as field errors (empty when
 * the terms are consistent): the term runs forward and at most {@link MAX_TERM_YEARS}, ending by
 * 9999-12-31T23:59:59.999Z (later instants have no four-digit RFC 3339 year); one line per
 * metric and period; level metrics use the `term` period; credit tiers sit below the
 * availability target, each lower tier crediting more.
 */
export function contractTermErrors(terms: ContractTerms): FieldError[] {
  const errors: FieldError[] = [];
  if (terms.termEnd.getTime() <= terms.termStart.getTime()) {
    errors.push({ path: 'termEnd', message: 'must be after termStart' });
  } else if (terms.termEnd.getTime() > MAX_INSTANT.getTime()) {
    errors.push({
      path: 'termEnd',
      message: `the term must end by ${MAX_INSTANT.toISOString()}`,
    });
  } else if (
    terms.termEnd.getTime() >
    DateTime.fromJSDate(terms.termStart, { zone: 'UTC' })
      .plus({ years: MAX_TERM_YEARS, days: 1 })
      .toMillis()
  ) {
    errors.push({ path: 'termEnd', message: `the term may last at most ${MAX_TERM_YEARS} years` });
  }
  const seen = new Map<string, number>();
  terms.quotaLines.forEach((line, i) => {
    const key = `${line.metric}/${line.period}`;
    const first = seen.get(key);
    if (first !== undefined) {
      errors.push({
        path: `quotaLines[${i}]`,
        message: `duplicates quotaLines[${first}]: one line per metric and period`,
      });
    } else {
      seen.set(key, i);
    }
    if (LEVEL_METRICS.has(line.metric) && line.period !== 'term') {
      errors.push({
        path: `quotaLines[${i}].period`,
        message: `${line.metric} caps how many exist at once, so its period must be "term"`,
      });
    }
  });
  if (terms.sla) errors.push(...creditTierErrors(terms.sla));
  return errors;
}

function creditTierErrors(sla: SlaTerms): FieldError[] {
  const errors: FieldError[] = [];
  sla.creditTiers.forEach((tier, i) => {
    if (tier.below > sla.availabilityTarget) {
      errors.push({
        path: `sla.creditTiers[${i}].below`,
        message: `must not exceed availabilityTarget (${sla.availabilityTarget})`,
      });
    }
  });
  const sorted = sla.creditTiers
    .map((tier, index) => ({ ...tier, index }))
    .sort((a, b) => b.below - a.below);
  for (let i = 1; i < sorted.length; i += 1) {
    if (sorted[i].below === sorted[i - 1].below) {
      errors.push({
        path: `sla.creditTiers[${sorted[i].index}].below`,
        message: 'two tiers have the same threshold',
      });
    } else if (sorted[i].creditPercent < sorted[i - 1].creditPercent) {
      errors.push({
        path: `sla.creditTiers[${sorted[i].index}].creditPercent`,
        message: 'a lower availability must not earn a smaller credit',
      });
    }
  }
  return errors;
}

/**
 * What a draft lacks to be activated, as field errors (empty when complete).
 *
 * @param now the activation instant: the term must not have ended
 */
export function activationErrors(terms: ContractTerms, now: Date): FieldError[] {
  const errors: FieldError[] = [];
  if (!terms.currency) errors.push({ path: 'currency', message: 'is required to activate' });
  if (terms.committedSpendMinor == null) {
    errors.push({ path: 'committedSpendMinor', message: 'is required to activate' });
  }
  if (!terms.billingModel)
    errors.push({ path: 'billingModel', message: 'is required to activate' });
  if (!terms.sla) errors.push({ path: 'sla', message: 'is required to activate' });
  if (terms.quotaLines.length === 0) {
    errors.push({ path: 'quotaLines', message: 'at least one quota line is required to activate' });
  }
  if (terms.termEnd.getTime() <= now.getTime()) {
    errors.push({ path: 'termEnd', message: 'the term has already ended' });
  }
  return [...errors, ...contractTermErrors(terms)];
}
