import { ValidationError, ValidationPipe } from '@nestjs/common';
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

/**
 * The global validation pipe: DTOs are class-validator classes; unknown fields are refused
 * (a typo must not silently do nothing); failures become a `validation_failed` problem.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
