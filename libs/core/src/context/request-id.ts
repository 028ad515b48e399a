import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** A caller's request id is kept when it is short and plain; anything else is replaced. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Express middleware installed before every other: takes `X-Request-Id` from the caller when
 * acceptable, otherwise makes a UUID, stores it on `req.id` (read by the logger, the request
 * context and the problem filter) and echoes it in the response header.
 */
export function requestIdMiddleware(
  req: Request & { id?: string },
  res: Response,
  next: NextFunction,
): void {
  const offered = req.header(REQUEST_ID_HEADER);
  const id = offered && ACCEPTABLE_REQUEST_ID.test(offered) ? offered : randomUUID();
  req.id = id;
  res.setHeader(REQUEST_ID_HEADER, id);
  next();
}
