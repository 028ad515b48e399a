import { asTenantId, TenantDb } from '@app/authz';
import { AppConfig, InjectConfig, MetricsService } from '@app/core';
import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { SecretBox } from '../secrets/secret-box';
import { endpointSecretAad } from '../endpoints/endpoint-secret';
import { retryDelayMs } from './backoff';
import { AttemptResult, WebhookSender } from './webhook-sender';

/** Deliveries claimed per round; a sweep runs rounds until none is due. */
const BATCH = 50;
/** Deliveries in flight at once per worker process. */
const CONCURRENCY = 10;
/** Rounds per sweep at most, so one job never runs unbounded (the next sweep continues). */
const MAX_ROUNDS = 20;
/** How long past the attempt's timeout a claim lasts before another worker may retake it. */
const CLAIM_MARGIN_MS = 30_000;

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'skipped';

interface ClaimedRow {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_type: string;
  payload: string;
  attempts: number;
  created_at: Date;
  url: string | null;
  secret_ciphertext: Buffer | null;
  send: boolean;
}

/**
 * Works off the delivery outbox (platform-wide): claims due deliveries, sends each one attempt
 * and records the outcome.
 *
 * - Claiming is one statement in the platform scope, `FOR UPDATE SKIP LOCKED`, that marks the
 *   rows `delivering` with a claim that expires at timeout + 30 s: two workers never take the
 *   same delivery at once, and one whose worker died mid-send is retaken after its claim expires.
 *   The HTTP call happens outside any transaction.
 * - A 2xx is `delivered`. Anything else (another status, a redirect, a timeout, a network error,
 *   a refused address) is retried after {@link retryDelayMs}, up to WEBHOOK_MAX_ATTEMPTS
 *   attempts, then `failed`. Receivers may get an event more than once (at-least-once, as the
 *   Standard Webhooks spec assumes): `webhook-id` is the key to deduplicate on.
 * - A delivery whose endpoint is disabled when it comes due is `failed` without being sent;
 *   a deleted endpoint's deliveries are deleted with it.
 *
 * Counts every outcome in `webhook_deliveries_total{outcome}`.
 */
@Injectable()
export class WebhookDispatcher {
  private readonly logger = new Logger('WebhookDispatcher');
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    private readonly db: TenantDb,
    private readonly sender: WebhookSender,
    private readonly secrets: SecretBox,
    @InjectConfig() private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.outcomes = new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook deliveries handled by the dispatcher, by outcome: delivered (2xx), retry (attempt failed, will retry), failed (last attempt failed), skipped (endpoint disabled when due: marked failed, not sent).',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    });
  }

  /**
   * Sends every delivery due now (up to 20 rounds of 50).
   *
   * @returns how many deliveries this sweep handled, by outcome
   */
  async sweep(): Promise<Record<DeliveryOutcome, number>> {
    const counts: Record<DeliveryOutcome, number> = {
      delivered: 0,
      retry: 0,
      failed: 0,
      skipped: 0,
    };
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const claimed = await this.claim();
      for (let i = 0; i < claimed.length; i += CONCURRENCY) {
        const outcomes = await Promise.all(
          claimed.slice(i, i + CONCURRENCY).map((row) => this.attempt(row)),
        );
        for (const outcome of outcomes) counts[outcome] += 1;
      }
      if (claimed.length < BATCH) break;
    }
    return counts;
  }

  private async claim(): Promise<ClaimedRow[]> {
    const claimSeconds = (this.config.WEBHOOK_TIMEOUT_MS + CLAIM_MARGIN_MS) / 1000;
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected count].
    const [rows]: [ClaimedRow[], number] = await this.db.asPlatform(
      'webhook dispatch: claim due deliveries of every tenant',
      (manager) =>
        manager.query(
          `WITH due AS (
           SELECT d.id, e.url, e.secret_ciphertext, e.status = 'enabled' AS send
             FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
            WHERE d.status IN ('pending', 'delivering') AND d.next_attempt_at <= now()
            ORDER BY d.next_attempt_at, d.id
            LIMIT $1
              FOR UPDATE OF d SKIP LOCKED
         )
         UPDATE webhook_deliveries d
            SET status = CASE WHEN due.send THEN 'delivering' ELSE 'failed' END,
                attempts = d.attempts + CASE WHEN due.send THEN 1 ELSE 0 END,
                next_attempt_at = CASE WHEN due.send
                                  THEN now() + make_interval(secs => $2) END,
                last_error = CASE WHEN due.send THEN d.last_error
                             ELSE 'not sent: the endpoint was disabled' END
           FROM due
          WHERE d.id = due.id
         RETURNING d.id, d.tenant_id, d.endpoint_id, d.event_type, d.payload::text AS payload,
                   d.attempts, d.created_at, due.url, due.secret_ciphertext, due.send`,
          [BATCH, claimSeconds],
        ),
    );
    return rows;
  }

  private async attempt(row: ClaimedRow): Promise<DeliveryOutcome> {
    if (!row.send) {
      this.outcomes.inc({ outcome: 'skipped' });
      return 'skipped';
    }
    let result: AttemptResult;
    try {
      const secret = await this.secrets.open(
        row.secret_ciphertext!,
        endpointSecretAad(row.tenant_id, row.endpoint_id),
      );
      result = await this.sender.send({
        id: row.id,
        url: row.url!,
        secret,
        body: deliveryBody(row),
      });
    } catch (error) {
      // Never the secret or the URL: only why the secret could not be read.
      result = { ok: false, statusCode: null, error: (error as Error).message.slice(0, 500) };
    }
    const outcome = await this.record(row, result).catch((error: unknown) => {
      // The claim expires and another sweep retries; the receiver may then see it twice.
      this.logger.error({ err: error, deliveryId: row.id }, 'could not record a webhook attempt');
      return undefined;
    });
    if (!outcome) return result.ok ? 'delivered' : 'retry';
    this.outcomes.inc({ outcome });
    if (!result.ok) {
      this.logger.warn(
        {
          deliveryId: row.id,
          endpointId: row.endpoint_id,
          tenantId: row.tenant_id,
          attempt: row.attempts,
          statusCode: result.statusCode,
          outcome,
        },
        `webhook attempt failed: ${result.error}`,
      );
    }
    return outcome;
  }

  /** Writes the attempt's outcome unless another worker has retaken the delivery since. */
  private async record(row: ClaimedRow, result: AttemptResult): Promise<DeliveryOutcome> {
    const giveUp = !result.ok && row.attempts >= this.config.WEBHOOK_MAX_ATTEMPTS;
    const outcome: DeliveryOutcome = result.ok ? 'delivered' : giveUp ? 'failed' : 'retry';
    const delaySeconds =
      result.ok || giveUp
        ? 0
        : retryDelayMs(row.attempts, this.config.WEBHOOK_RETRY_BASE_MS) / 1000;
    await this.db.inTenant(asTenantId(row.tenant_id), (manager) =>
      manager.query(
        `UPDATE webhook_deliveries
            SET status = $3,
                last_status_code = $4,
                last_error = $5,
                delivered_at = CASE WHEN $3 = 'delivered' THEN now() END,
                next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $6) END
          WHERE id = $1 AND status = 'delivering' AND attempts = $2`,
        [
          row.id,
          row.attempts,
          result.ok ? 'delivered' : giveUp ? 'failed' : 'pending',
          result.statusCode,
          result.error,
          delaySeconds,
        ],
      ),
    );
    return outcome;
  }
}

/**
 * The body of a delivery: `{"id", "type", "createdAt", "tenantId", "data"}`, the same bytes on
 * every attempt (`data` is PostgreSQL's text of the stored jsonb, so large integers stay exact).
 */
export function deliveryBody(row: {
  id: string;
  event_type: string;
  created_at: Date;
  tenant_id: string;
  payload: string;
}): string {
  return `{"id":${JSON.stringify(row.id)},"type":${JSON.stringify(row.event_type)},"createdAt":${JSON.stringify(row.created_at.toISOString())},"tenantId":${JSON.stringify(row.tenant_id)},"data":${row.payload}}`;
}
