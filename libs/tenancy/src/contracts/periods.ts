import { DateTime, IANAZone } from 'luxon';

/** A quota line's period (API.md, Contracts and quotas). */
export type QuotaPeriodKind = 'term' | 'month' | 'day';

/** A half-open interval [start, end) of instants. */
export interface Period {
  start: Date;
  end: Date;
}

export interface ContractTerm {
  /** The contract's anchor: its start instant. */
  termStart: Date;
  /** The end of the term (exclusive). */
  termEnd: Date;
  /** The tenant's billing time zone, an IANA name such as `Europe/Berlin`; default `UTC`. */
  timeZone?: string;
}

/** Thrown for a time zone that is not a valid IANA name. */
export class InvalidTimeZoneError extends Error {}

/**
 * The period of kind `kind` that contains `at`, for a contract. The one place periods are
 * computed:
 * - `term`: the whole term, [termStart, termEnd).
 * - `month`: months counted from the anchor in the tenant's time zone. The n-th period starts at
 *   the anchor's local date and time plus n months; when that day does not exist (an anchor on
 *   the 29th-31st), it is the last day of that month (Luxon's calendar arithmetic), and the next
 *   period still counts from the anchor, so a 31st anchor gives Jan 31, Feb 28/29, Mar 31.
 * - `day`: local days from the anchor's time of day (a DST day is 23 or 25 hours long).
 * Periods never extend past the term: the last one ends at termEnd. Periods are half-open, so an
 * instant (a request's usage timestamp) belongs to exactly one period.
 *
 * @throws RangeError when `at` is outside [termStart, termEnd)
 * @throws InvalidTimeZoneError for an unknown time zone
 */
export function periodContaining(kind: QuotaPeriodKind, at: Date, term: ContractTerm): Period {
  const zone = term.timeZone ?? 'UTC';
  if (!IANAZone.isValidZone(zone)) throw new InvalidTimeZoneError(`unknown time zone: ${zone}`);
  const t = at.getTime();
  if (t < term.termStart.getTime() || t >= term.termEnd.getTime()) {
    throw new RangeError(`${at.toISOString()} is outside the contract term`);
  }
  if (kind === 'term') return { start: term.termStart, end: term.termEnd };
  const anchor = DateTime.fromJSDate(term.termStart, { zone });
  const startOf = (n: number) =>
    (kind === 'month' ? anchor.plus({ months: n }) : anchor.plus({ days: n })).toJSDate();
  // Estimate the index, then step to the exact one (months vary in length; DST shifts days).
  const local = DateTime.fromJSDate(at, { zone });
  let n =
    kind === 'month'
      ? Math.max(0, Math.floor(local.diff(anchor, 'months').months))
      : Math.max(0, Math.floor(local.diff(anchor, 'days').days));
  while (n > 0 && startOf(n).getTime() > t) n -= 1;
  while (startOf(n + 1).getTime() <= t) n += 1;
  const end = startOf(n + 1);
  return { start: startOf(n), end: end.getTime() > term.termEnd.getTime() ? term.termEnd : end };
}
