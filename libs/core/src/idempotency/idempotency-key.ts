import type { Request } from 'express';
import { ValidationFailed } from '../errors/common-problems';
import { IDEMPOTENCY_KEY_HEADER } from './stored-response';

/** 1-255 printable ASCII characters (U+0020-U+007E): a UUID or any client token fits. */
const ACCEPTABLE_KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * The request's `Idempotency-Key`, or `undefined` when it carries none. The value is taken as
 * sent (a draft-ietf-httpapi-idempotency-key-header client's quotes are part of its key, the
 * same on every retry).
 *
 * @throws ValidationFailed (400, field error on path `Idempotency-Key`) when the header is empty,
 *   longer than 255 characters, holds anything but printable ASCII, or is sent more than once.
 */
export function readIdempotencyKey(
  request: Pick<Request, 'headers' | 'rawHeaders'>,
): string | undefined {
  const value = request.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
  if (value === undefined) return undefined;
  // Node joins repeated headers with ", ", which would make one key out of two.
  const sent = request.rawHeaders.filter(
    (item, index) => index % 2 === 0 && item.toLowerCase() === 'idempotency-key',
  ).length;
  if (sent > 1) throw invalidKey('must be sent once');
  if (typeof value !== 'string' || !ACCEPTABLE_KEY.test(value))
    throw invalidKey('must be 1-255 printable ASCII characters');
  return value;
}

function invalidKey(message: string) {
  return new ValidationFailed(`The ${IDEMPOTENCY_KEY_HEADER} header is invalid.`, {
    errors: [{ path: IDEMPOTENCY_KEY_HEADER, message }],
  });
}
