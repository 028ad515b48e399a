import { defineProblem } from './problem';

/** Problems any route can answer; libraries add their own with `defineProblem`. */
export const ValidationFailed = defineProblem({
  code: 'validation_failed',
  status: 400,
  title: 'Request validation failed',
  description:
    'One or more fields are missing or invalid; `errors` lists each field path and what is wrong. Nothing was changed.',
});
export const MalformedJson = defineProblem({
  code: 'malformed_json',
  status: 400,
  title: 'Malformed JSON body',
  description: 'The request body could not be parsed as JSON (RFC 8259). Nothing was changed.',
});
export const BadRequest = defineProblem({
  code: 'bad_request',
  status: 400,
  title: 'Bad request',
  description: 'The request could not be understood as sent.',
});
export const Unauthorized = defineProblem({
  code: 'unauthorized',
  status: 401,
  title: 'Authentication required',
  description:
    'No valid credentials were presented. Send `Authorization: Bearer <api key or session token>`.',
});
export const Forbidden = defineProblem({
  code: 'forbidden',
  status: 403,
  title: 'Forbidden',
  description: 'The caller is authenticated but lacks the permission this action needs.',
});
export const NotFound = defineProblem({
  code: 'not_found',
  status: 404,
  title: 'Not found',
  description:
    'No such route or resource, or it belongs to another tenant (existence is never revealed across tenants).',
});
export const Conflict = defineProblem({
  code: 'conflict',
  status: 409,
  title: 'Conflict',
  description: 'The request conflicts with the current state of the resource.',
});
export const PayloadTooLarge = defineProblem({
  code: 'payload_too_large',
  status: 413,
  title: 'Request body too large',
  description:
    'The request body exceeds the configured limit (`BODY_LIMIT`, default 1 MiB). Nothing was changed.',
});
export const UnsupportedMediaType = defineProblem({
  code: 'unsupported_media_type',
  status: 415,
  title: 'Unsupported media type',
  description: 'The request body is not in a media type this route accepts.',
});
export const TooManyRequests = defineProblem({
  code: 'too_many_requests',
  status: 429,
  title: 'Too many requests',
  description: 'A rate limit or quota refused the request; retry after `Retry-After` seconds.',
});
export const InternalError = defineProblem({
  code: 'internal_error',
  status: 500,
  title: 'Internal server error',
  description:
    'An unexpected error occurred. It was logged with the request id given in `requestId`; quote it when asking for help.',
});
export const NotReady = defineProblem({
  code: 'not_ready',
  status: 503,
  title: 'Service not ready',
  description:
    'A dependency the service needs (PostgreSQL, Redis, schema migrations) is not available; `checks` says which.',
});
export const ServiceUnavailable = defineProblem({
  code: 'service_unavailable',
  status: 503,
  title: 'Service unavailable',
  description: 'The service cannot handle the request right now; retry later.',
});

/** The problem a bare HTTP status maps to, when an HttpException carries no domain code. */
export const PROBLEM_BY_STATUS: Record<number, ReturnType<typeof defineProblem>> = {
  400: BadRequest,
  401: Unauthorized,
  403: Forbidden,
  404: NotFound,
  409: Conflict,
  413: PayloadTooLarge,
  415: UnsupportedMediaType,
  429: TooManyRequests,
  503: ServiceUnavailable,
};
