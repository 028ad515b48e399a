import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import {
  InternalError,
  MalformedJson,
  NotReady,
  PayloadTooLarge,
  PROBLEM_BY_STATUS,
  BadRequest,
  UnsupportedMediaType,
  ServiceUnavailable,
} from './common-problems';
import { redactUrl } from '../logging/redaction';
import { DomainError, ProblemBody, problemTypeUri } from './problem';
import { NotFound } from './common-problems';
import { RenderedResponse, writeResponse } from '../http/rendered-response';
import { StoredResponse } from '../idempotency/stored-response';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** body-parser (Express) errors: http-errors with a `status` and usually a `type`. */
interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  limit?: number;
  message?: string;
}

function fromBodyParserError(exception: unknown): DomainError | undefined {
  const error = exception as BodyParserError | undefined;
  const status = error?.status ?? error?.statusCode;
  if (!error || !status || status >= 500 || !(error.type || error.expose)) return undefined;
  if (error.type === 'entity.parse.failed')
    return new MalformedJson('The request body is not valid JSON.');
  if (status === 413) {
    return new PayloadTooLarge(
      error.limit
        ? `The request body exceeds the limit of ${error.limit} bytes.`
        : 'The request body is too large.',
    );
  }
  if (status === 415) return new UnsupportedMediaType(error.message ?? 'Unsupported media type.');
  return new BadRequest(error.message ?? 'The request body could not be read.');
}

/** SQLSTATEs meaning "busy right now, retry": query_canceled, lock_not_available. */
const RETRYABLE_SQLSTATES = new Set(['57014', '55P03']);

/**
 * A database too busy to serve the request (pool wait timed out, statement cancelled or timed
 * out, lock not available): 503 with Retry-After, not a 500.
 */
function fromDatabaseOverload(exception: unknown): DomainError | undefined {
  const error = exception as
    { message?: string; code?: string; driverError?: { code?: string } } | undefined;
  const code = error?.driverError?.code ?? error?.code;
  const poolTimeout =
    typeof error?.message === 'string' &&
    error.message.includes('timeout exceeded when trying to connect');
  if (!poolTimeout && !(code && RETRYABLE_SQLSTATES.has(code))) return undefined;
  return new ServiceUnavailable('The database is busy; retry shortly.', {
    headers: { 'Retry-After': '1' },
    cause: exception,
  });
}

/**
 * Express error middleware placed right after the body parsers. Nest would otherwise turn a JSON
 * SyntaxError into a bare BadRequestException and lose the reason; this keeps it as
 * `malformed_json` (and a too-large body as `payload_too_large`).
 */
export function bodyParserErrorMiddleware(
  error: unknown,
  _req: Request,
  _res: Response,
  next: NextFunction,
): void {
  next(fromBodyParserError(error) ?? error);
}

/** A problem rendered for the wire, with the error it came from. */
export interface RenderedProblem {
  error: DomainError;
  body: ProblemBody;
  response: RenderedResponse;
}

/**
 * Renders any error as the RFC 9457 response {@link ProblemDetailsFilter} sends: domain errors
 * keep their code; Nest's HttpExceptions map by status; body-parser errors become 400/413/415; a
 * busy database 503; anything else a 500 whose body carries only the request id. The one place
 * that decides status, headers and body bytes of an error response, used by the filter and by
 * idempotent requests that store a 4xx answer for replay.
 */
export function renderProblem(exception: unknown, request: Request): RenderedProblem {
  let error = toDomainError(exception);
  if (error.problem.code === 'not_found' && /^Cannot [A-Z]+ /.test(error.message)) {
    // Nest's router says "Cannot GET /path?query"; the query may hold secrets.
    error = new NotFound(`No route matches ${request.method} ${request.path}.`);
  }
  const body: ProblemBody = {
    // Extensions first: they may add members, never override the RFC 9457 ones.
    ...error.extensions,
    type: problemTypeUri(error.problem.code),
    title: error.problem.title,
    status: error.problem.status,
    detail: error.message,
    instance: request.originalUrl?.split('?')[0],
    code: error.problem.code,
    requestId: (request as { id?: string }).id,
    ...(error.errors?.length ? { errors: error.errors } : {}),
  };
  return {
    error,
    body,
    response: {
      status: body.status,
      // `res.type(...).send(string)` would add the charset; written as bytes, it is spelled out.
      headers: { ...error.headers, 'Content-Type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8` },
      body: Buffer.from(JSON.stringify(body), 'utf8'),
    },
  };
}

/**
 * The global filter. Writes a {@link StoredResponse} (an idempotent request's answer, after its
 * transaction committed) verbatim; turns every other error into a problem with
 * {@link renderProblem}, logging 500s with the error and requests refused before routing.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { id?: string }>();
    const response = http.getResponse<Response>();
    if (exception instanceof StoredResponse) {
      if (response.headersSent) response.end();
      else exception.writeTo(response);
      return;
    }
    const { error, body, response: rendered } = renderProblem(exception, request);
    if (error.problem.code === 'internal_error') {
      this.logger.error({ err: exception, requestId: request.id }, 'unhandled exception');
    } else if (!(request as { log?: unknown }).log) {
      // Refused before the request logger ran (body parsing, path decoding): log it here.
      this.logger.warn(
        {
          requestId: request.id,
          method: request.method,
          url: redactUrl(request.originalUrl),
          status: body.status,
          code: body.code,
        },
        'request refused before routing',
      );
    }
    if (response.headersSent) {
      response.end();
      return;
    }
    writeResponse(response, rendered);
  }
}

function toDomainError(exception: unknown): DomainError {
  if (exception instanceof DomainError) return exception;
  if (exception instanceof HttpException) return fromHttpException(exception);
  return (
    fromDatabaseOverload(exception) ??
    fromBodyParserError(exception) ??
    new InternalError('An unexpected error occurred.', { cause: exception })
  );
}

function fromHttpException(exception: HttpException): DomainError {
  const status = exception.getStatus();
  const payload = exception.getResponse() as Record<string, unknown> | string;
  // @nestjs/terminus answers 503 with {status: 'error', error: {...}, details: {...}}.
  if (typeof payload === 'object' && payload.status === 'error' && payload.details) {
    const failing = Object.keys((payload.error as object) ?? {});
    return new NotReady(`Not ready: ${failing.join(', ') || 'unknown'} failed its check.`, {
      extensions: { checks: payload.details },
    });
  }
  const detail =
    typeof payload === 'string'
      ? payload
      : Array.isArray(payload.message)
        ? payload.message.join('; ')
        : String(payload.message ?? exception.message);
  const ProblemClass = PROBLEM_BY_STATUS[status];
  if (ProblemClass) return new ProblemClass(detail);
  if (status >= 500)
    return new InternalError('An unexpected error occurred.', { cause: exception });
  return new BadRequest(detail);
}
