import { Body, Injectable, PipeTransform } from '@nestjs/common';
import { ValidationFailed } from '../errors/common-problems';

/**
 * Body pipe for actions that take no input (`POST .../activate`): no body, `{}` or `null` pass;
 * any field is refused as the DTO routes refuse unknown fields (400 `validation_failed`, one
 * error per field), so a client never believes a field it sent did something.
 *
 * An empty DTO class cannot do this through the global ValidationPipe: class-validator's
 * `forbidUnknownValues` (on by default) refuses every object, `{}` included, when the class
 * declares no validated property.
 *
 * @throws ValidationFailed for a non-object body or one with fields
 */
@Injectable()
export class EmptyBodyPipe implements PipeTransform<unknown, Record<string, never>> {
  transform(value: unknown): Record<string, never> {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ValidationFailed('1 field is invalid.', {
        errors: [{ path: '(body)', message: 'the body must be empty or an empty JSON object' }],
      });
    }
    const fields = Object.keys(value);
    if (fields.length > 0) {
      throw new ValidationFailed(
        `${fields.length} field${fields.length === 1 ? ' is' : 's are'} invalid.`,
        {
          errors: fields.map((field) => ({
            path: field,
            message: `property ${field} should not exist`,
          })),
        },
      );
    }
    return {};
  }
}

/** Handler parameter: a body that must be empty ({@link EmptyBodyPipe}). */
export const EmptyBody = (): ParameterDecorator => Body(new EmptyBodyPipe());
