import type { Response } from 'express';
import { RenderedResponse, writeResponse } from '../http/rendered-response';

/** The request header that carries the key (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set on a response that repeats the stored answer of an earlier request with the same key. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/**
 * The answer to an idempotent request, thrown by the transaction interceptor once the request's
 * transaction has committed, and written verbatim by `ProblemDetailsFilter`. Thrown rather than
 * returned because Nest would otherwise send the route's default status (201) and re-serialize
 * the body; this way the first answer and every replay are the same status, headers and bytes.
 * Not an error: it never reaches a log as one.
 */
export class StoredResponse extends Error {
  constructor(
    readonly response: RenderedResponse,
    /** `true` when this repeats an earlier request's answer (adds `Idempotent-Replayed: true`). */
    readonly replayed: boolean,
  ) {
    super(`stored response ${response.status}${replayed ? ' (replayed)' : ''}`);
    this.name = 'StoredResponse';
  }

  writeTo(response: Response): void {
    writeResponse(
      response,
      this.response,
      this.replayed ? { [IDEMPOTENT_REPLAYED_HEADER]: 'true' } : {},
    );
  }
}
