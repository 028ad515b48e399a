import { defineProblem } from '../errors/problem';

/**
 * The `Idempotency-Key` was already used by this caller for a different request (method, path
 * with query, or body), from another tenant scope, or with other credentials (Stripe:
 * "Keys are ... compared to the original request and error if they're not the same").
 */
export const IdempotencyKeyReused = defineProblem({
  code: 'idempotency_key_reused',
  status: 409,
  title: 'Idempotency key reused',
  description:
    'This `Idempotency-Key` was already used by the same caller for a different request (method, path and query, or body), from another tenant, or with other credentials. Nothing was changed. Use a new key for a new request; keys are kept at least 24 hours (`IDEMPOTENCY_KEY_TTL_HOURS`).',
});
