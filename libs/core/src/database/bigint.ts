import type { ValueTransformer } from 'typeorm';

/**
 * Column transformer for PostgreSQL `bigint` values the API carries as JSON numbers (tokens,
 * minor currency units): node-postgres returns them as strings. Values must stay within
 * Number.MAX_SAFE_INTEGER (2^53 - 1); DTOs refuse larger input, so a larger stored value is a bug.
 *
 * @throws RangeError when a stored value is not a safe integer
 */
export const BIGINT_AS_NUMBER: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : toSafeInteger(value)),
};

/** @throws RangeError when `value` (a bigint as text or bigint) is not a safe integer */
export function toSafeInteger(value: string | bigint | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${String(value)} is not a safe integer`);
  return n;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Whether a bigint count lies beyond ±(2^53 − 1), where JSON readers lose exactness. */
export function beyondSafeInteger(value: bigint): boolean {
  return value > MAX_SAFE || value < -MAX_SAFE;
}

/**
 * A bigint count as a JSON number, clamped to ±(2^53 − 1) (Number.MAX_SAFE_INTEGER); responses
 * that clamp say so with an `overflow` flag ({@link beyondSafeInteger}).
 */
export function clampToSafeInteger(value: bigint): number {
  return Number(value > MAX_SAFE ? MAX_SAFE : value < -MAX_SAFE ? -MAX_SAFE : value);
}
