import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidationFailed } from './common-problems';
import { FieldError } from './problem';

/** Flattens class-validator's tree into `{path, message}` pairs, `quotaLines[0].limit` style. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const path = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent
        ? `${parent}.${error.property}`
        : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ path, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], path)];
  });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Deepest nesting accepted in a request body or query (deeper input is refused, not walked). */
export const MAX_INPUT_DEPTH = 32;

/**
 * Keys no object in the input may have: the names of `Object.prototype`'s members
 * (`constructor`, `__proto__`, `toString`, …). class-transformer, which turns a body into its
 * DTO, skips them silently, so a free-form map (fine-tuning `metadata`, usage `attributes`)
 * would lose them without a word.
 */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Finds what no field may hold, before class-validator walks the input: nesting deeper than
 * {@link MAX_INPUT_DEPTH} (which would overflow the stack), strings with U+0000 (which
 * PostgreSQL refuses in text), strings with lone surrogates (not Unicode) and keys named like
 * `Object.prototype`'s members ({@link PROTOTYPE_KEYS}).
 */
export function unsafeInput(value: unknown, path = '', depth = 0): FieldError | undefined {
  // Nearly all input is fine: a walk that builds no paths says so; only unsafe input is walked
  // again to name the place (this runs on every request body and every usage event).
  return isSafeInput(value, depth) ? undefined : findUnsafe(value, path, depth);
}

function isSafeInput(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
  if (value === null || typeof value !== 'object') return true;
  if (depth >= MAX_INPUT_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isSafeInput(item, depth + 1)) return false;
    return true;
  }
  for (const key of Object.keys(value)) {
    if (key.includes('\u0000') || PROTOTYPE_KEYS.has(key)) return false;
    if (!isSafeInput((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

function findUnsafe(value: unknown, path: string, depth: number): FieldError | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000'))
      return { path: path || '(body)', message: 'must not contain the NUL character (U+0000)' };
    // A lone UTF-16 surrogate is not Unicode text: validators and PostgreSQL would mangle it.
    if (LONE_SURROGATE.test(value))
      return {
        path: path || '(body)',
        message: 'must be well-formed Unicode (no lone surrogates)',
      };
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_INPUT_DEPTH)
    return { path: path || '(body)', message: `nests deeper than ${MAX_INPUT_DEPTH} levels` };
  for (const [key, item] of Object.entries(value)) {
    const child = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (typeof key === 'string' && key.includes('\u0000'))
      return { path: child, message: 'must not contain the NUL character (U+0000)' };
    if (!Array.isArray(value) && PROTOTYPE_KEYS.has(key))
      return {
        path: child,
        message:
          'is not an accepted key: names of Object.prototype members (constructor, __proto__, toString, …) are refused',
      };
    const found = findUnsafe(item, child, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The global validation pipe: DTOs are class-validator classes; unknown fields are refused
 * (a typo must not silently do nothing); failures become a `validation_failed` problem.
 */
export function createValidationPipe(): ValidationPipe {
  return new SafeValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const fieldErrors = flattenValidationErrors(errors);
      return new ValidationFailed(
        `${fieldErrors.length} field${fieldErrors.length === 1 ? ' is' : 's are'} invalid.`,
        { errors: fieldErrors },
      );
    },
  });
}

/**
 * ValidationPipe that first refuses input no DTO may hold (see {@link unsafeInput}), except for
 * DTOs with a static `checksItemsItself = true`: batch bodies whose items are accepted or
 * rejected one by one, which run {@link unsafeInput} on each item themselves.
 */
class SafeValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const checksItems = (metadata.metatype as { checksItemsItself?: boolean } | undefined)
      ?.checksItemsItself;
    if ((metadata.type === 'body' || metadata.type === 'query') && !checksItems) {
      const problem = unsafeInput(value);
      if (problem) throw new ValidationFailed('1 field is invalid.', { errors: [problem] });
    }
    return super.transform(value, metadata);
  }
}
