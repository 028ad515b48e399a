import { TenantId } from '@app/authz';
import { ApiKeyRateLimits } from '@app/identity';
import {
  QuotaReservationService,
  RateLimitStanding,
  ReserveRequest,
  Reservation,
} from '@app/metering';
import { Injectable, Logger } from '@nestjs/common';
import { OpenAiError } from './openai-error';
import { QuotaHoldPool } from './quota-hold-pool';

/** The metrics one inference request reserves and records. */
export type InferenceMetric = 'input_tokens' | 'output_tokens' | 'total_tokens' | 'requests';

/** Units per metric (tokens, requests). */
export type InferenceUsage = Record<InferenceMetric, number>;

/** The reservations held for one request, by metric (a zero quantity holds nothing). */
export type Holds = Partial<Record<InferenceMetric, string>>;

const METRICS: readonly InferenceMetric[] = [
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'requests',
];

/**
 * Holds a request's estimated usage against the tenant's quota lines before it is forwarded:
 * one reservation per metric (input, output and total tokens, one request). Each is taken from
 * the {@link QuotaHoldPool} when it has one (decided in memory), else reserved directly; the
 * direct ones are made in the same event-loop turn so the reservation service decides them in
 * one Redis script run. A key's rate-limited metrics are always reserved directly (their windows
 * count per request). If any is refused, the others are released and the request answers 429;
 * when every refusal is a quota refusal, this replica's pooled units of each refused metric are
 * given back first (refills in flight included) and those metrics alone are tried once more,
 * the holds granted so far kept (a rate-limited one re-made would count the request twice).
 */
@Injectable()
export class GatewayQuota {
  private readonly logger = new Logger('GatewayQuota');

  constructor(
    private readonly reservations: QuotaReservationService,
    private readonly pool: QuotaHoldPool,
  ) {}

  /**
   * @returns the holds, to be committed with the actual usage or released
   * @throws OpenAiError 429 `quota_exceeded` naming the line, with Retry-After (seconds to the
   *   line's period end); 403 `no_contract_in_force`; 503 `quota_state_unavailable`
   */
  async reserve(
    tenantId: string,
    estimate: InferenceUsage,
    key: { id: string; rateLimits: ApiKeyRateLimits | null },
  ): Promise<{ holds: Holds; headers: Record<string, string> }> {
    const metrics = METRICS.filter((metric) => estimate[metric] > 0);
    const limits = key.rateLimits;
    // The key's requests-per-minute window counts on the `requests` reservation, its
    // tokens-per-minute window on `total_tokens` (adjusted to the actual usage on commit); both
    // are decided in the same script run as the quota lines.
    const rateLimitOf = (metric: InferenceMetric): ReserveRequest['rateLimit'] => {
      if (metric === 'requests' && limits?.requestsPerMinute) {
        return { key: key.id, requestsPerMinute: limits.requestsPerMinute, requests: 1, tokens: 0 };
      }
      if (metric === 'total_tokens' && limits?.tokensPerMinute) {
        return {
          key: key.id,
          tokensPerMinute: limits.tokensPerMinute,
          requests: 0,
          tokens: estimate.total_tokens,
        };
      }
      return undefined;
    };
    const holds: Holds = {};
    const headers: Record<string, string> = {};
    let direct: InferenceMetric[] = [];
    for (const metric of metrics) {
      const pooled = rateLimitOf(metric)
        ? undefined
        : this.pool.take(tenantId, metric, estimate[metric]);
      if (pooled) holds[metric] = pooled;
      else direct.push(metric);
    }
    try {
      for (let attempt = 0; ; attempt += 1) {
        const decided = await Promise.all(
          direct.map((metric) => {
            const rateLimit = rateLimitOf(metric);
            return this.reservations.reserve({
              tenantId: tenantId as TenantId,
              metric,
              quantity: estimate[metric],
              ...(rateLimit ? { rateLimit } : {}),
            });
          }),
        );
        const refused: { metric: InferenceMetric; reservation: Refusal }[] = [];
        decided.forEach((reservation, i) => {
          if (!reservation.granted) return refused.push({ metric: direct[i], reservation });
          holds[direct[i]] = reservation.reservationId;
          Object.assign(headers, rateLimitHeaders(reservation.rateLimit));
        });
        if (refused.length === 0) return { holds, headers };
        // Only quota refusals are retried, once, after every refused metric's parked units are
        // back; the holds granted so far are kept (a retried rate-limited reservation would
        // count the request in its key's window twice).
        const retry =
          attempt === 0 &&
          refused.every(({ reservation }) => reservation.reason === 'quota_exceeded') &&
          (await Promise.all(refused.map(({ metric }) => this.pool.drain(tenantId, metric)))).some(
            (released) => released > 0,
          );
        if (!retry) throw refusalError(refused[0].reservation);
        direct = refused.map(({ metric }) => metric);
      }
    } catch (error) {
      this.release(holds);
      throw error;
    }
  }

  /** Gives every hold back (the request failed before the model did any work). */
  release(holds: Holds): void {
    for (const id of Object.values(holds)) {
      this.reservations
        .release(id)
        .catch((error: unknown) =>
          this.logger.warn(
            { err: error },
            'releasing a reservation failed (it expires on its own)',
          ),
        );
    }
  }
}

/**
 * OpenAI's rate-limit headers (API reference, "Rate limits": `x-ratelimit-limit-requests`,
 * `-remaining-requests`, `-reset-requests` and the `-tokens` trio) for the key's window.
 */
function rateLimitHeaders(standing: RateLimitStanding | undefined): Record<string, string> {
  if (!standing) return {};
  const reset = `${Math.max(0, Math.ceil((standing.resetAt.getTime() - Date.now()) / 1000))}s`;
  const headers: Record<string, string> = {};
  if (standing.requestsPerMinute !== null) {
    headers['x-ratelimit-limit-requests'] = String(standing.requestsPerMinute);
    headers['x-ratelimit-remaining-requests'] = String(standing.requestsRemaining ?? 0);
    headers['x-ratelimit-reset-requests'] = reset;
  }
  if (standing.tokensPerMinute !== null) {
    headers['x-ratelimit-limit-tokens'] = String(standing.tokensPerMinute);
    headers['x-ratelimit-remaining-tokens'] = String(standing.tokensRemaining ?? 0);
    headers['x-ratelimit-reset-tokens'] = reset;
  }
  return headers;
}

/** Whole seconds until `at`, at least 1 (a `Retry-After` value); undefined without one. */
function secondsUntil(at: Date | null | undefined): number | undefined {
  return at ? Math.max(1, Math.ceil((at.getTime() - Date.now()) / 1000)) : undefined;
}

type Refusal = Extract<Reservation, { granted: false }>;

function refusalError(refused: Refusal): OpenAiError {
  if (refused.reason === 'rate_limited') {
    const retryAfter = secondsUntil(refused.retryAt);
    const requests = refused.limit === 'requests_per_minute';
    return new OpenAiError(
      429,
      requests
        ? `Rate limit reached for requests: ${refused.rateLimit?.requestsPerMinute} per minute on this key.`
        : `Rate limit reached for tokens: ${refused.rateLimit?.tokensPerMinute} per minute on this key.`,
      requests ? 'requests' : 'tokens',
      'rate_limit_exceeded',
      null,
      {},
      retryAfter ? { 'Retry-After': String(retryAfter) } : {},
    );
  }
  if (refused.reason === 'no_contract_in_force') {
    return new OpenAiError(
      403,
      'The tenant has no contract in force.',
      'insufficient_quota',
      'no_contract_in_force',
    );
  }
  if (refused.reason === 'quota_state_unavailable') {
    return new OpenAiError(
      503,
      'Quota state is unavailable; retry shortly.',
      'server_error',
      'quota_state_unavailable',
      null,
      {},
      { 'Retry-After': '1' },
    );
  }
  const line = refused.line;
  const retryAfter = secondsUntil(refused.retryAt);
  return new OpenAiError(
    429,
    line
      ? `You exceeded the contract's ${line.enforcement} ${line.metric} quota line (${line.limit} per ${line.period}).`
      : 'You exceeded your quota.',
    'insufficient_quota',
    'quota_exceeded',
    null,
    line
      ? {
          quota_line: {
            metric: line.metric,
            period: line.period,
            limit: line.limit,
            used: Number(line.used),
            reserved: Number(line.reserved),
            period_end: line.periodEnd?.toISOString() ?? null,
          },
        }
      : {},
    retryAfter ? { 'Retry-After': String(retryAfter) } : {},
  );
}
