import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsDate } from 'class-validator';

/**
 * RFC 3339 §5.6 `date-time`: a full date and time with `Z` or a numeric offset. Hours run
 * 00-23 (no `24:00:00`), minutes and seconds 00-59 (leap seconds have no JavaScript instant).
 */
const RFC3339_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** The earliest instant the API accepts: 1970-01-01T00:00:00Z. */
export const MIN_INSTANT = new Date(Date.UTC(1970, 0, 1));

/**
 * The latest instant the API accepts: 9999-12-31T23:59:59.999Z. Later instants would print as
 * expanded years (`+010000-01-01T00:00:00.000Z`), which no RFC 3339 reader accepts.
 */
export const MAX_INSTANT = new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999));

/** Whether `date` is a valid instant from {@link MIN_INSTANT} to {@link MAX_INSTANT}. */
export function isInstantInRange(date: Date): boolean {
  const t = date.getTime();
  return !Number.isNaN(t) && t >= MIN_INSTANT.getTime() && t <= MAX_INSTANT.getTime();
}

/**
 * Parses an RFC 3339 date-time (`2027-01-01T00:00:00Z`, `2027-01-01T09:00:00+09:00`) into a
 * Date, or returns undefined for anything else: date-only strings, missing offsets, numbers,
 * `24:00:00`, calendar dates that do not exist (`2027-02-30`, which `new Date()` would roll
 * over) and instants outside 1970-01-01T00:00:00Z … 9999-12-31T23:59:59.999Z (the UTC instant
 * is checked, so `9999-12-31T23:00:00-05:00` is refused too).
 */
export function parseInstant(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const match = RFC3339_DATE_TIME.exec(value);
  if (!match) return undefined;
  // The calendar date must exist (Date would roll 2027-02-30 over to March); checked by hand
  // because this runs once per usage event, a thousand times per ingestion batch.
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  // ECMAScript's date-time string format is RFC 3339's with `T` and `Z` upper case; V8 reads
  // fractions past milliseconds and drops them, as the conversion to a Date must.
  const date = new Date(value.replace(' ', 'T').toUpperCase());
  return isInstantInRange(date) ? date : undefined;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * DTO property decorator: the JSON string must be an RFC 3339 date-time; the property becomes a
 * Date. Anything else fails validation with a field error naming the expected form.
 */
export function IsInstant(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => parseInstant(value) ?? value, {
      toClassOnly: true,
    }),
    IsDate({
      message: ({ property }) =>
        `${property} must be an RFC 3339 date-time with an offset, such as 2027-01-01T00:00:00Z, from 1970 through 9999`,
    }),
  ) as PropertyDecorator;
}
