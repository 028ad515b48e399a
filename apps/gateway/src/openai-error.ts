import type { ServerResponse } from 'node:http';

/**
 * An error in the OpenAI API's shape (`{"error": {"message", "type", "param", "code"}}`, see the
 * OpenAI API reference, "Error codes"), which OpenAI clients parse and surface.
 */
export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** Extra members of `error` (e.g. the quota line that refused). */
    readonly extra: Record<string, unknown> = {},
    /** Response headers such as `Retry-After` (seconds). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const invalidRequest = (
  message: string,
  param: string | null = null,
  code = 'invalid_request',
) => new OpenAiError(400, message, 'invalid_request_error', code, param);

/**
 * Writes `error` as JSON (`application/json; charset=utf-8`) with its status and headers, unless
 * the response has started (then the stream is just ended). Plain `node:http`, so the data plane's
 * own handler and Express routes share it.
 */
export function sendOpenAiError(res: ServerResponse, error: OpenAiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  sendJson(res, error.status, {
    error: {
      message: error.message,
      type: error.type,
      param: error.param,
      code: error.code,
      ...error.extra,
    },
  });
}

/** Answers `status` with `body` as JSON (`application/json; charset=utf-8`, with its length). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}
