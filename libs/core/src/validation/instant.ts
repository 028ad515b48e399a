import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsDate } from 'class-validator';
import { DateTime } from 'luxon';

/** RFC 3339 §5.6 `date-time`: a full date and time with `Z` or a numeric offset. */
const RFC3339_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 date-time (`2027-01-01T00:00:00Z`, `2027-01-01T09:00:00+09:00`) into a
 * Date, or returns undefined for anything else: date-only strings, missing offsets, numbers,
 * and calendar dates that do not exist (`2027-02-30`, which `new Date()` would roll over).
 */
export function parseInstant(value: unknown): Date | undefined {
  if (typeof value !== 'string' || !RFC3339_DATE_TIME.test(value)) return undefined;
  const parsed = DateTime.fromISO(value.replace(' ', 'T'), { setZone: true });
  return parsed.isValid ? parsed.toJSDate() : undefined;
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
        `${property} must be an RFC 3339 date-time with an offset, such as 2027-01-01T00:00:00Z`,
    }),
  ) as PropertyDecorator;
}
