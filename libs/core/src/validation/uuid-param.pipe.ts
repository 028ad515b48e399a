import { Injectable, Param, PipeTransform } from '@nestjs/common';
import { NotFound } from '../errors/common-problems';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Path parameter pipe for resource ids: a value that is not a UUID names no resource, so it is
 * simply not found (404 `not_found`), the same answer as an unknown or another tenant's id and a
 * malformed `:tenantId`. Answers the id in lowercase.
 *
 * @throws NotFound for anything but a UUID (any version, either case)
 */
@Injectable()
export class ParseResourceIdPipe implements PipeTransform<unknown, string> {
  constructor(private readonly what = 'resource') {}

  transform(value: unknown): string {
    if (typeof value !== 'string' || !UUID.test(value)) throw new NotFound(`No such ${this.what}.`);
    return value.toLowerCase();
  }
}

/**
 * `@ResourceId('id', 'contract')`: a UUID path parameter that answers 404 when malformed
 * ({@link ParseResourceIdPipe}).
 */
export function ResourceId(name: string, what?: string): ParameterDecorator {
  return Param(name, new ParseResourceIdPipe(what));
}
