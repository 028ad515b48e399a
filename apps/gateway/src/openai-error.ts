import type { Response } from 'express';

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

/** Writes `error` unless the response has started (then the stream is just ended). */
export function sendOpenAiError(res: Response, error: OpenAiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.status(error.status).json({
    error: {
      message: error.message,
      type: error.type,
      param: error.param,
      code: error.code,
      ...error.extra,
    },
  });
}
