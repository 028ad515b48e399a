import type { CreditTier } from '@app/tenancy';
import { DateTime, IANAZone } from 'luxon';

/**
 * The SLA's arithmetic, free of I/O so it can be tested with any clock (README, "SLA"):
 *
 * - An **SLA minute** is a slot [k·m, (k+1)·m) of `m` = SLA_MINUTE_MS (60,000 in production;
 *   tests shorten it) counted from the Unix epoch, so every calendar month in any real time zone
 *   starts on a minute edge.
 * - A month is the calendar month in the tenant's billing time zone, [local 1st 00:00, next 1st).
 * - An endpoint is **measured** over [max(month start, its creation rounded down to a minute),
 *   min(month end, its deletion rounded up, the start of the current minute)): minutes before it
 *   existed are not in its window, and in the current month only completed minutes count.
 * - A minute is **excluded** when it overlaps a maintenance window.
 * - A minute is **bad** when it is not excluded and a probe failed in it or more than the error
 *   threshold of its requests failed (5xx or timeout); every other measured minute is **good**
 *   (a minute without probes or traffic gives no evidence of an outage and counts as good).
 * - availability = good minutes / (measured minutes − excluded minutes), per endpoint; the
 *   tenant's is the same over the sum of its endpoints' minutes (endpoint-minutes).
 */

/** A half-open interval of epoch milliseconds [start, end). */
export interface Interval {
  start: number;
  end: number;
}

export const floorTo = (ms: number, minuteMs: number) => Math.floor(ms / minuteMs) * minuteMs;
export const ceilTo = (ms: number, minuteMs: number) => Math.ceil(ms / minuteMs) * minuteMs;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** True for `YYYY-MM` (months 01-12, years 1970-9999). */
export function isMonth(text: string): boolean {
  const match = MONTH.exec(text);
  return !!match && Number(match[1]) >= 1970;
}

/**
 * The calendar month `YYYY-MM` in `timeZone` as instants [start, end).
 *
 * @throws RangeError for a malformed month or an unknown time zone
 */
export function monthWindow(month: string, timeZone: string): { start: Date; end: Date } {
  if (!isMonth(month)) throw new RangeError(`not a month: ${month}`);
  if (!IANAZone.isValidZone(timeZone)) throw new RangeError(`unknown time zone: ${timeZone}`);
  const [year, mon] = month.split('-').map(Number);
  const start = DateTime.fromObject({ year, month: mon, day: 1 }, { zone: timeZone });
  return { start: start.toJSDate(), end: start.plus({ months: 1 }).toJSDate() };
}

/** The `YYYY-MM` that contains `at` in `timeZone`. */
export function monthOf(at: Date, timeZone: string): string {
  return DateTime.fromJSDate(at, { zone: timeZone }).toFormat('yyyy-MM');
}

/** The month before `month` (`2027-01` → `2026-12`). */
export function previousMonth(month: string): string {
  const [year, mon] = month.split('-').map(Number);
  return mon === 1 ? `${year - 1}-12` : `${year}-${String(mon - 1).padStart(2, '0')}`;
}

/**
 * Maintenance windows as whole minutes: each widened to the minutes it touches, then
 * overlapping or adjacent ones merged; sorted.
 */
export function excludedIntervals(
  windows: readonly { startsAt: Date; endsAt: Date }[],
  minuteMs: number,
): Interval[] {
  const widened = windows
    .map((w) => ({
      start: floorTo(w.startsAt.getTime(), minuteMs),
      end: ceilTo(w.endsAt.getTime(), minuteMs),
    }))
    .filter((w) => w.end > w.start)
    .sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const w of widened) {
    const last = merged[merged.length - 1];
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else merged.push({ ...w });
  }
  return merged;
}

/** Minutes of `interval` that lie in the (merged, sorted) `excluded` intervals. */
export function excludedMinutesIn(
  interval: Interval,
  excluded: readonly Interval[],
  minuteMs: number,
): number {
  let ms = 0;
  for (const w of excluded) {
    const start = Math.max(w.start, interval.start);
    const end = Math.min(w.end, interval.end);
    if (end > start) ms += end - start;
  }
  return ms / minuteMs;
}

/** Whether the minute starting at `minuteStart` is excluded. */
export function isExcluded(minuteStart: number, excluded: readonly Interval[]): boolean {
  return excluded.some((w) => minuteStart >= w.start && minuteStart < w.end);
}

/**
 * The minutes an endpoint is measured in a window: see the module comment. Empty (end ≤ start)
 * when it did not exist then.
 */
export function measuredInterval(
  window: { start: Date; end: Date },
  endpoint: { createdAt: Date; deletedAt: Date | null },
  now: Date,
  minuteMs: number,
): Interval {
  const start = Math.max(window.start.getTime(), floorTo(endpoint.createdAt.getTime(), minuteMs));
  const end = Math.min(
    window.end.getTime(),
    endpoint.deletedAt ? ceilTo(endpoint.deletedAt.getTime(), minuteMs) : Infinity,
    floorTo(now.getTime(), minuteMs),
  );
  return { start, end: Math.max(start, end) };
}

/** Minute counts of one endpoint (or, summed, of a tenant) over a window. */
export interface MinuteCounts {
  /** Minutes measured (the endpoint existed and the minute is over). */
  minutes: number;
  /** Of those, minutes in maintenance windows. */
  excludedMinutes: number;
  /** Bad minutes outside maintenance windows. */
  badMinutes: number;
  /** minutes − excludedMinutes − badMinutes. */
  goodMinutes: number;
}

/**
 * Counts an endpoint's minutes.
 *
 * @param badMinuteStarts starts of its bad minutes (ms); those outside `interval` or excluded
 *   are ignored
 */
export function countMinutes(
  interval: Interval,
  badMinuteStarts: readonly number[],
  excluded: readonly Interval[],
  minuteMs: number,
): MinuteCounts {
  const minutes = Math.max(0, (interval.end - interval.start) / minuteMs);
  const excludedMinutes = excludedMinutesIn(interval, excluded, minuteMs);
  const bad = new Set(
    badMinuteStarts.filter(
      (t) => t >= interval.start && t < interval.end && !isExcluded(t, excluded),
    ),
  ).size;
  return {
    minutes,
    excludedMinutes,
    badMinutes: bad,
    goodMinutes: minutes - excludedMinutes - bad,
  };
}

/** Adds minute counts (a tenant's endpoint-minutes). */
export function sumCounts(counts: readonly MinuteCounts[]): MinuteCounts {
  return counts.reduce<MinuteCounts>(
    (sum, c) => ({
      minutes: sum.minutes + c.minutes,
      excludedMinutes: sum.excludedMinutes + c.excludedMinutes,
      badMinutes: sum.badMinutes + c.badMinutes,
      goodMinutes: sum.goodMinutes + c.goodMinutes,
    }),
    { minutes: 0, excludedMinutes: 0, badMinutes: 0, goodMinutes: 0 },
  );
}

/**
 * Availability in percent, good / (minutes − excluded) × 100, unrounded; null when no minute
 * counts (nothing measured yet, or all excluded).
 */
export function availabilityOf(counts: MinuteCounts): number | null {
  const denominator = counts.minutes - counts.excludedMinutes;
  return denominator > 0 ? (counts.goodMinutes / denominator) * 100 : null;
}

/** For display: percent rounded down to 4 decimals (never shows a breach as met). */
export function roundAvailability(percent: number | null): number | null {
  return percent === null ? null : Math.floor(percent * 10_000) / 10_000;
}

/**
 * The credit percent earned at `availability`: the largest `creditPercent` of the tiers whose
 * `below` the availability is under (tiers are monotone: a lower tier never credits less); 0
 * when none applies or nothing was measured.
 */
export function creditPercentFor(
  availability: number | null,
  tiers: readonly CreditTier[],
): number {
  if (availability === null) return 0;
  return tiers
    .filter((tier) => availability < tier.below)
    .reduce((max, tier) => Math.max(max, tier.creditPercent), 0);
}

/**
 * The month's committed fee in minor units: the contract's committed spend pro rata to the part
 * of its term that falls in the month (by time), rounded half up. 0 when the month and the term
 * do not meet.
 */
export function monthlyFeeMinor(
  committedSpendMinor: number,
  term: { start: Date; end: Date },
  month: { start: Date; end: Date },
): number {
  const termMs = BigInt(term.end.getTime() - term.start.getTime());
  const overlap = BigInt(
    Math.max(
      0,
      Math.min(term.end.getTime(), month.end.getTime()) -
        Math.max(term.start.getTime(), month.start.getTime()),
    ),
  );
  if (termMs <= 0n || overlap === 0n) return 0;
  return Number((BigInt(committedSpendMinor) * overlap * 2n + termMs) / (2n * termMs));
}

/** `percent` (up to 2 decimals) of `feeMinor`, rounded half up to the minor unit. */
export function creditMinorOf(feeMinor: number, percent: number): number {
  const hundredths = BigInt(Math.round(percent * 100));
  return Number((BigInt(feeMinor) * hundredths + 5_000n) / 10_000n);
}

/** Burn-rate alerting (Google SRE workbook, "Alerting on SLOs": multiwindow, multi-burn-rate). */
export interface BurnRateRule {
  severity: 'fast' | 'slow';
  /** The long window, in SLA minutes. */
  longMinutes: number;
  /** The short window, in SLA minutes (the alert stops soon after the burn does). */
  shortMinutes: number;
  /** Fires when both windows burn the error budget at least this many times too fast. */
  factor: number;
}

/** 1 h and 5 min at 14.4× (2 % of a 30-day budget in an hour); 6 h and 30 min at 6× (5 %). */
export const BURN_RATE_RULES: readonly BurnRateRule[] = [
  { severity: 'fast', longMinutes: 60, shortMinutes: 5, factor: 14.4 },
  { severity: 'slow', longMinutes: 360, shortMinutes: 30, factor: 6 },
];

/**
 * How many times faster than allowed the budget burns: (bad / measured) / (1 − target/100); 0
 * when nothing was measured. The budget of a 100 % target is 0: any bad minute burns infinitely.
 */
export function burnRate(counts: MinuteCounts, availabilityTarget: number): number {
  const denominator = counts.minutes - counts.excludedMinutes;
  if (denominator <= 0 || counts.badMinutes === 0) return 0;
  const budget = 1 - availabilityTarget / 100;
  return budget > 0 ? counts.badMinutes / denominator / budget : Infinity;
}
