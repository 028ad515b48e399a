/**
 * Errors in the shape of the OpenAI API (API reference, "Error codes"; the body every error
 * response carries): `{"error":{"message","type","param","code"}}`.
 */
export class OpenAiError extends Error {
  constructor(
    /** HTTP status. */
    readonly status: number,
    message: string,
    /** `invalid_request_error` (4xx), `server_error` (5xx). */
    readonly type: string,
    /** The request field at fault, when one is. */
    readonly param: string | null = null,
    /** Stable machine-readable code (`model_not_found`, `context_length_exceeded`, …). */
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'OpenAiError';
  }

  /** A 400 `invalid_request_error` about one field. */
  static invalid(message: string, param: string | null = null, code: string | null = null) {
    return new OpenAiError(400, message, 'invalid_request_error', param, code);
  }

  toBody(): {
    error: { message: string; type: string; param: string | null; code: string | null };
  } {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}
