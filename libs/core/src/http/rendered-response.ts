import { StreamableFile } from '@nestjs/common';
import type { Response } from 'express';

/**
 * A complete HTTP response as it goes on the wire: status, the headers the route or error chose
 * (`Content-Type` included whenever there is a body) and the body bytes. Problem bodies and
 * idempotent responses are rendered into this shape once and written by {@link writeResponse},
 * so a stored response and its replays are the same bytes.
 */
export interface RenderedResponse {
  status: number;
  /** Header name → value, e.g. `{"Content-Type": "application/json; charset=utf-8"}`. */
  headers: Record<string, string>;
  body: Buffer;
}

/** What Express's `res.json()` sends as `Content-Type`. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** What Express's `res.send(string)` sends as `Content-Type` when none is set. */
const TEXT_CONTENT_TYPE = 'text/html; charset=utf-8';

/**
 * Renders a handler's return value exactly as Nest's Express adapter would send it
 * (`ExpressAdapter.reply`): nothing for `null`/`undefined`, `res.json()` for objects, `String()`
 * otherwise.
 *
 * @param headers headers the route declares (`@Header`), kept with the response.
 * @throws Error for a streamed result (`StreamableFile`): a stream cannot be stored.
 */
export function renderResult(
  value: unknown,
  status: number,
  headers: Record<string, string> = {},
): RenderedResponse {
  if (value === null || value === undefined) return { status, headers, body: Buffer.alloc(0) };
  if (value instanceof StreamableFile) throw new Error('a streamed response cannot be stored');
  // Express keeps a Content-Type the route set itself.
  const typed = (fallback: string) =>
    hasHeader(headers, 'content-type') ? headers : { ...headers, 'Content-Type': fallback };
  if (typeof value === 'object') {
    const json = JSON.stringify(value) as string | undefined;
    if (json === undefined) return { status, headers, body: Buffer.alloc(0) };
    return { status, headers: typed(JSON_CONTENT_TYPE), body: Buffer.from(json, 'utf8') };
  }
  return {
    status,
    headers: typed(TEXT_CONTENT_TYPE),
    body: Buffer.from(String(value), 'utf8'),
  };
}

/**
 * Writes `rendered` verbatim: its status, its headers (over any already set) and its body bytes.
 * `extraHeaders` are added last (e.g. `Idempotent-Replayed`).
 */
export function writeResponse(
  response: Response,
  rendered: RenderedResponse,
  extraHeaders: Record<string, string> = {},
): void {
  response.status(rendered.status);
  for (const [name, value] of Object.entries({ ...rendered.headers, ...extraHeaders }))
    response.setHeader(name, value);
  // As Nest sends an empty result: no body, no invented Content-Type.
  if (rendered.body.length === 0 && !hasHeader(rendered.headers, 'content-type')) response.send();
  else response.send(rendered.body);
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}
