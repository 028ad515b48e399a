import { Injectable } from '@nestjs/common';
import canonicalize from 'canonicalize';
import type { Request } from 'express';
import { Counter } from 'prom-client';
import type { EntityManager } from 'typeorm';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import type { Actor } from '../context/request-context';
import { renderProblem } from '../errors/problem-details.filter';
import { RenderedResponse, renderResult } from '../http/rendered-response';
import { MetricsService } from '../telemetry/metrics.service';
import { openBody, requestFingerprint, sealBody } from './idempotency-crypto';
import { IdempotencyKeyReused } from './idempotency-problems';
import { StoredResponse } from './stored-response';

/** One idempotent request, as the transaction interceptor hands it over. */
export interface IdempotentCall {
  /** The entity manager of the request's scoped transaction (`TenantDb.manager`). */
  manager: EntityManager;
  /** The validated `Idempotency-Key` (see `readIdempotencyKey`). */
  key: string;
  /** Who is calling: keys are scoped per actor. */
  actor: Pick<Actor, 'type' | 'id'>;
  /**
   * The tenant the request's transaction is scoped to (RLS); the platform tenant
   * `00000000-0000-0000-0000-000000000000` for platform-wide requests.
   */
  tenantId: string;
  /** The raw bearer token or session cookie value presented; derives the body key, never stored. */
  credential: string;
  /** Method, `originalUrl` and parsed `body` are compared; its id goes into problem bodies. */
  request: Request;
  /** Headers the route declares (`@Header`), stored and replayed with the response. */
  routeHeaders: Record<string, string>;
  /** The status of a successful handler as Nest sends it (`@HttpCode`, else 201 for POST). */
  successStatus: () => number;
}

interface KeyRow {
  request_fingerprint: Buffer;
  status_code: number | null;
  response_headers: Record<string, string> | null;
  response_body: Buffer | null;
  salt: Buffer | null;
  live: boolean;
}

/**
 * `Idempotency-Key` for creating requests, with Stripe's semantics
 * (https://docs.stripe.com/api/idempotent_requests) and the header of IETF
 * draft-ietf-httpapi-idempotency-key-header:
 *
 * - the first request with a key runs; its response (status, headers, body bytes; 4xx problems
 *   included) is stored for `IDEMPOTENCY_KEY_TTL_HOURS` (at least 24 h);
 * - the same key with the same request (method, path and query, RFC 8785-canonical JSON body)
 *   replays that response byte for byte, with `Idempotent-Replayed: true`;
 * - the same key with a different request, from another tenant scope or with other credentials
 *   answers 409 `idempotency_key_reused`;
 * - 5xx and unexpected errors store nothing (everything rolls back), so a retry can succeed;
 * - concurrent duplicates queue on a transaction-scoped advisory lock on (actor, key): one runs,
 *   the others then replay its committed answer. Exactly one side effect.
 *
 * Keys are per actor (API key or user). Stored bodies are encrypted (see `sealBody`): they may
 * hold secrets shown once, such as a new API key.
 */
@Injectable()
export class IdempotencyService {
  private readonly ttlHours: number;
  private readonly outcomes: Counter<'outcome'>;

  constructor(@InjectConfig() config: AppConfig, metrics: MetricsService) {
    this.ttlHours = config.IDEMPOTENCY_KEY_TTL_HOURS;
    this.outcomes = new Counter({
      name: 'idempotent_requests_total',
      help: 'Requests with an Idempotency-Key, by outcome: stored, replayed, reused (409), not_stored (5xx).',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    });
  }

  /**
   * Runs `handler` at most once per (actor, key) and returns the response to send, first time
   * or replay. Must run inside the request's transaction (`call.manager`): the handler runs in a
   * savepoint; on a 4xx it is rolled back to it and the problem is stored, so the caller's
   * transaction commits the stored answer and nothing else.
   *
   * @returns the response to write verbatim once the transaction has committed.
   * @throws IdempotencyKeyReused (409) when the key was used for another request, in another
   *   tenant scope, or with other credentials; the caller's transaction must roll back.
   * @throws whatever `handler` throws when it maps to a 5xx (nothing is stored).
   */
  async execute(call: IdempotentCall, handler: () => Promise<unknown>): Promise<StoredResponse> {
    const { manager, actor, key } = call;
    const id = [actor.type, actor.id, key];
    const fingerprint = requestFingerprint(
      call.request.method,
      call.request.originalUrl,
      call.request.body,
    );
    // Duplicates wait here until the first commits; then they read its row (READ COMMITTED takes
    // a new snapshot per statement, so the SELECT below sees it).
    await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `idempotency\n${id.join('\n')}`,
    ]);
    const [row] = await manager.query<KeyRow[]>(
      `SELECT request_fingerprint, status_code, response_headers, response_body, salt,
              expires_at > now() AS live
         FROM idempotency_keys WHERE actor_type = $1 AND actor_id = $2 AND key = $3`,
      id,
    );
    if (row?.live) return this.replay(row, call, fingerprint);
    if (row) {
      // Expired but not yet purged: as if absent.
      await manager.query(
        'DELETE FROM idempotency_keys WHERE actor_type = $1 AND actor_id = $2 AND key = $3',
        id,
      );
    }
    // The claim. A conflict means a row this transaction cannot see: the key was used in another
    // tenant scope. DO NOTHING keeps the transaction usable without a savepoint.
    const claimed = await manager.query<unknown[]>(
      `INSERT INTO idempotency_keys (actor_type, actor_id, key, tenant_id, request_fingerprint, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6))
       ON CONFLICT DO NOTHING RETURNING 1`,
      [...id, call.tenantId, fingerprint, this.ttlHours],
    );
    if (claimed.length === 0) {
      this.outcomes.inc({ outcome: 'reused' });
      throw new IdempotencyKeyReused('This Idempotency-Key was already used for another request.');
    }

    const rendered = await this.run(call, handler);
    const { salt, sealed } = sealBody(
      rendered.body,
      call.credential,
      this.associatedData(call, fingerprint, rendered),
    );
    await manager.query(
      `UPDATE idempotency_keys SET status_code = $4, response_headers = $5, response_body = $6, salt = $7
        WHERE actor_type = $1 AND actor_id = $2 AND key = $3`,
      [...id, rendered.status, JSON.stringify(rendered.headers), sealed, salt],
    );
    this.outcomes.inc({ outcome: 'stored' });
    return new StoredResponse(rendered, false);
  }

  /** The handler's response, or its 4xx problem after rolling back to the savepoint. */
  private async run(
    call: IdempotentCall,
    handler: () => Promise<unknown>,
  ): Promise<RenderedResponse> {
    let value: unknown;
    try {
      // A nested transaction on the request's runner is a SAVEPOINT; on error TypeORM rolls
      // back to it, so a refused request leaves none of its writes behind.
      value = await call.manager.transaction(() => handler());
    } catch (error) {
      const problem = renderProblem(error, call.request).response;
      if (problem.status >= 500) {
        this.outcomes.inc({ outcome: 'not_stored' });
        throw error;
      }
      // Route headers (e.g. Cache-Control) are on error responses too: Nest sets them first.
      return { ...problem, headers: { ...call.routeHeaders, ...problem.headers } };
    }
    return renderResult(value, call.successStatus(), call.routeHeaders);
  }

  private replay(row: KeyRow, call: IdempotentCall, fingerprint: Buffer): StoredResponse {
    if (!row.request_fingerprint.equals(fingerprint)) {
      this.outcomes.inc({ outcome: 'reused' });
      throw new IdempotencyKeyReused('This Idempotency-Key was already used for another request.');
    }
    if (row.status_code === null || !row.response_body || !row.salt || !row.response_headers) {
      // Claims commit together with their answer, so another transaction never sees one bare.
      throw new Error('idempotency key row without a stored response');
    }
    const stored = { status: row.status_code, headers: row.response_headers };
    let body: Buffer;
    try {
      body = openBody(
        row.response_body,
        row.salt,
        call.credential,
        this.associatedData(call, fingerprint, stored),
      );
    } catch {
      // Same actor, other credential (a rotated API key, another session of the same user).
      this.outcomes.inc({ outcome: 'reused' });
      throw new IdempotencyKeyReused(
        'This Idempotency-Key was used with other credentials of the same caller.',
      );
    }
    this.outcomes.inc({ outcome: 'replayed' });
    return new StoredResponse({ ...stored, body }, true);
  }

  /** GCM additional data: the body decrypts only for its own row, request, status and headers. */
  private associatedData(
    call: IdempotentCall,
    fingerprint: Buffer,
    response: Pick<RenderedResponse, 'status' | 'headers'>,
  ): Buffer {
    return Buffer.from(
      canonicalize({
        v: 1,
        actor: [call.actor.type, call.actor.id],
        key: call.key,
        fingerprint: fingerprint.toString('hex'),
        status: response.status,
        headers: response.headers,
      }) as string,
      'utf8',
    );
  }
}
