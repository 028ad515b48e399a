import { NotFound } from '@app/core';
import { Injectable, PipeTransform } from '@nestjs/common';
import { REGION_CODE } from './dto/region.dto';

/**
 * `:code` of `/v1/regions/{code}`: anything that is not shaped like a region code (`eu-west-1`)
 * names no region, so it is not found (404 `not_found`), like a malformed id elsewhere; it never
 * reaches PostgreSQL (which refuses NUL in text with a 500).
 *
 * @throws NotFound
 */
@Injectable()
export class ParseRegionCodePipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value !== 'string' || value.length > 64 || !REGION_CODE.test(value)) {
      throw new NotFound('No such region.');
    }
    return value;
  }
}
