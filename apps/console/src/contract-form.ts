import type { Contract, CreditTier } from './api';

/**
 * The contract editor's form: its fields as typed, the checks made while typing (the same rules
 * the API applies, so most mistakes show before saving) and the request body it becomes.
 */

// The contract vocabulary of the API (libs/tenancy contract-terms.ts; also in /docs-json).
export const METRICS = [
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'requests',
  'gpu_hours',
  'training_tokens',
  'dedicated_endpoints',
  'concurrent_fine_tuning_jobs',
];
/** Metrics that cap a level rather than sum over a period: their period is the term. */
export const LEVEL_METRICS = new Set(['dedicated_endpoints', 'concurrent_fine_tuning_jobs']);
export const PERIODS = ['term', 'month', 'day'];
export const ENFORCEMENTS = ['hard', 'soft'];
export const BILLING_MODELS = ['prepaid', 'postpaid_commitment'];

export interface LineForm {
  key: number;
  metric: string;
  limit: string;
  period: string;
  enforcement: string;
  overageUnitPriceMinor: string;
}

/** A service-credit tier as typed: below `below` % monthly availability, `creditPercent` % credit. */
export interface TierForm {
  key: number;
  below: string;
  creditPercent: string;
}

/** The API takes at most this many credit tiers (`sla.creditTiers`, SlaTermsDto). */
export const MAX_CREDIT_TIERS = 10;

export interface ContractForm {
  contractNumber: string;
  termStart: string;
  termEnd: string;
  currency: string;
  committedSpendMinor: string;
  billingModel: string;
  availabilityTarget: string;
  latencyP95Ms: string;
  ttfbP95Ms: string;
  /** The SLA's credit tiers, in the order they were entered (the API does not sort them). */
  tiers: TierForm[];
  lines: LineForm[];
  /** The stored instants (the date fields show only their UTC day), kept while the day is. */
  loaded?: { termStart: string; termEnd: string };
}

let nextKey = 1;
export const newLine = (metric = 'total_tokens'): LineForm => ({
  key: nextKey++,
  metric,
  limit: '',
  period: LEVEL_METRICS.has(metric) ? 'term' : 'month',
  enforcement: 'hard',
  overageUnitPriceMinor: '',
});

export const newTier = (): TierForm => ({ key: nextKey++, below: '', creditPercent: '' });

export function emptyForm(): ContractForm {
  const year = new Date().getUTCFullYear() + 1;
  return {
    contractNumber: '',
    termStart: `${year}-01-01`,
    termEnd: `${year + 1}-01-01`,
    currency: 'USD',
    committedSpendMinor: '',
    billingModel: 'prepaid',
    availabilityTarget: '99.9',
    latencyP95Ms: '',
    ttfbP95Ms: '',
    tiers: [],
    lines: [newLine()],
  };
}

export function formOf(contract: Contract): ContractForm {
  return {
    contractNumber: contract.contractNumber,
    termStart: contract.termStart.slice(0, 10),
    termEnd: contract.termEnd.slice(0, 10),
    currency: contract.currency ?? '',
    committedSpendMinor: contract.committedSpendMinor?.toString() ?? '',
    billingModel: contract.billingModel ?? '',
    availabilityTarget: contract.sla?.availabilityTarget?.toString() ?? '',
    latencyP95Ms: contract.sla?.latencyP95Ms?.toString() ?? '',
    ttfbP95Ms: contract.sla?.ttfbP95Ms?.toString() ?? '',
    tiers: (contract.sla?.creditTiers ?? []).map((tier) => ({
      key: nextKey++,
      below: String(tier.below),
      creditPercent: String(tier.creditPercent),
    })),
    loaded: { termStart: contract.termStart, termEnd: contract.termEnd },
    lines: contract.quotaLines.map((line) => ({
      key: nextKey++,
      metric: line.metric,
      limit: String(line.limit),
      period: line.period,
      enforcement: line.enforcement,
      overageUnitPriceMinor: line.overageUnitPriceMinor?.toString() ?? '',
    })),
  };
}

const WHOLE = /^\d+$/;

/** A whole number from 1 (or `min`) to 2^53 − 1, as the API accepts; else what is wrong. */
export function wholeError(text: string, min: number, required: boolean): string | undefined {
  if (text.trim() === '') return required ? 'Required' : undefined;
  // A negative whole number is whole: what is wrong with it is the range.
  if (/^-\d+$/.test(text.trim())) return `Must be at least ${min}`;
  if (!WHOLE.test(text.trim())) return 'Must be a whole number';
  const value = Number(text);
  if (value < min) return `Must be at least ${min}`;
  if (!Number.isSafeInteger(value)) return 'Too large';
  return undefined;
}

/** Checks the quota lines as the person types (same rules as the API's). */
export function lineErrors(lines: LineForm[]): Record<string, string> {
  const errors: Record<string, string> = {};
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const limit = wholeError(line.limit, 1, true);
    if (limit) errors[`quotaLines[${i}].limit`] = limit;
    const price = wholeError(line.overageUnitPriceMinor, 0, false);
    if (price) errors[`quotaLines[${i}].overageUnitPriceMinor`] = price;
    if (LEVEL_METRICS.has(line.metric) && line.period !== 'term')
      errors[`quotaLines[${i}].period`] = `${line.metric} caps a level: its period is term`;
    const pair = `${line.metric}/${line.period}`;
    if (seen.has(pair))
      errors[`quotaLines[${i}].metric`] = `Only one ${line.metric} line per ${line.period}`;
    seen.add(pair);
  });
  return errors;
}

/** A percent of SlaTermsDto/CreditTierDto: 0 to 100 with at most 3 decimals. */
const PERCENT = /^\d{1,3}(\.\d{1,3})?$/;

/**
 * Checks the SLA's credit tiers as the person types, by the API's rules (CreditTierDto and
 * `contractTermErrors` in libs/tenancy): a threshold from 0 to 100 % (3 decimals) not above the
 * availability target, a whole credit from 1 to 100 %, no two tiers at one threshold, and a
 * lower threshold never crediting less than a higher one. Keys are the API's field paths.
 */
export function tierErrors(form: ContractForm): Record<string, string> {
  const errors: Record<string, string> = {};
  const path = (i: number, field: keyof CreditTier) => `sla.creditTiers[${i}].${field}`;
  const targetText = form.availabilityTarget.trim();
  const target = targetText === '' ? undefined : Number(targetText);
  if (form.tiers.length > 0 && target === undefined)
    errors['sla.availabilityTarget'] = 'Required with credit tiers';
  if (form.tiers.length > MAX_CREDIT_TIERS)
    errors['sla.creditTiers'] = `At most ${MAX_CREDIT_TIERS} credit tiers`;
  const read = form.tiers.map((tier, i) => {
    const text = tier.below.trim();
    let below: number | undefined;
    if (text === '') errors[path(i, 'below')] = 'Required';
    else if (!PERCENT.test(text) || Number(text) > 100)
      errors[path(i, 'below')] = 'A percent from 0 to 100, up to 3 decimals';
    else below = Number(text);
    if (below !== undefined && target !== undefined && Number.isFinite(target) && below > target)
      errors[path(i, 'below')] = `Must not exceed the availability target (${target} %)`;
    const credit =
      wholeError(tier.creditPercent, 1, true) ??
      (Number(tier.creditPercent) > 100 ? 'At most 100' : undefined);
    if (credit) errors[path(i, 'creditPercent')] = credit;
    return { i, below, credit: credit ? undefined : Number(tier.creditPercent) };
  });
  // As the API checks them: from the highest threshold down, each credit at least the last.
  const sorted = read
    .filter((tier): tier is typeof tier & { below: number } => tier.below !== undefined)
    .sort((a, b) => b.below - a.below);
  let previous: { below: number; credit: number } | undefined;
  sorted.forEach((tier, n) => {
    if (n > 0 && tier.below === sorted[n - 1].below) {
      errors[path(tier.i, 'below')] ??= 'Another tier has this threshold';
      return;
    }
    if (tier.credit === undefined) return;
    if (previous && tier.credit < previous.credit)
      errors[path(tier.i, 'creditPercent')] ??=
        `A lower availability must not earn a smaller credit (below ${previous.below} %: ${previous.credit} %)`;
    previous = { below: tier.below, credit: tier.credit };
  });
  return errors;
}

const numberOrUndefined = (text: string) => (text.trim() === '' ? undefined : Number(text));

/** A day of a date field as an instant: the stored one when its day is unchanged, else midnight UTC. */
function instantOf(day: string, loaded: string | undefined): string | undefined {
  if (!day) return undefined;
  return loaded && loaded.slice(0, 10) === day ? loaded : `${day}T00:00:00Z`;
}

export function bodyOf(form: ContractForm) {
  const sla =
    form.availabilityTarget.trim() === ''
      ? undefined
      : {
          availabilityTarget: Number(form.availabilityTarget),
          latencyP95Ms: numberOrUndefined(form.latencyP95Ms),
          ttfbP95Ms: numberOrUndefined(form.ttfbP95Ms),
          // Always sent: the API replaces the SLA as a whole, and its tiers default to none.
          creditTiers: form.tiers.map((tier) => ({
            below: Number(tier.below),
            creditPercent: Number(tier.creditPercent),
          })),
        };
  return {
    contractNumber: form.contractNumber.trim(),
    termStart: instantOf(form.termStart, form.loaded?.termStart),
    termEnd: instantOf(form.termEnd, form.loaded?.termEnd),
    currency: form.currency.trim().toUpperCase() || undefined,
    committedSpendMinor: numberOrUndefined(form.committedSpendMinor),
    billingModel: form.billingModel || undefined,
    sla,
    quotaLines: form.lines.map((line) => ({
      metric: line.metric,
      limit: Number(line.limit),
      period: line.period,
      enforcement: line.enforcement,
      overageUnitPriceMinor: numberOrUndefined(line.overageUnitPriceMinor),
    })),
  };
}
