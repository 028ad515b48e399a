import { ValidateIf } from 'class-validator';

/**
 * The field may be left out, but not sent as `null`: class-validator's `IsOptional` skips both,
 * and a `null` would then reach code that expects the field's type (a 500, or a half-applied
 * change). With this, a `null` meets the field's other validators and is refused with a field
 * error like any wrong type. Keep `IsOptional` where `null` means something (the property's
 * type says `| null`, e.g. `expiresAt: null` for "never").
 */
export function Omittable(): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined);
}
