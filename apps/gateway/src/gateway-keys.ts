import {
  asTenantId,
  AUTHENTICATOR,
  Authenticator,
  PLATFORM_TENANT_ID,
  Principal,
} from '@app/authz';
import { ApiKeyRateLimits, ApiKeyService } from '@app/identity';
import { AppConfig, InjectConfig } from '@app/core';
import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { IncomingMessage } from 'node:http';
import { OpenAiError } from './openai-error';

/** A caller of the gateway: a tenant API key with the `inference` scope. */
export interface InferenceCaller {
  keyId: string;
  tenantId: string;
  /** The key's per-minute limits (null: none). */
  rateLimits: ApiKeyRateLimits | null;
}

interface Cached {
  principal: Principal | null;
  rateLimits: ApiKeyRateLimits | null;
  /** From here a request refreshes the entry in the background (and still uses it). */
  refreshAtMs: number;
  /** From here the entry is not used (GATEWAY_KEY_CACHE_TTL_MS after it was read). */
  expiresAtMs: number;
}

/** Unknown keys are remembered briefly too, so a flood of bad keys does not reach PostgreSQL. */
const NEGATIVE_TTL_MS = 1000;
const MAX_ENTRIES = 100_000;

/**
 * Authenticates gateway callers by API key (identity's AUTHENTICATOR) and reads the key's rate
 * limits, caching each lookup for
 * GATEWAY_KEY_CACHE_TTL_MS (≤ 5 s): a revoked or expired key, or a suspended tenant, stops
 * working on every replica within that time without any message between replicas. Keys are
 * cached by their SHA-256, never in clear.
 */
@Injectable()
export class GatewayKeys {
  private readonly cache = new Map<string, Cached>();
  /** The lookup in flight of each key (by hash): a refresh, or one that requests wait on. */
  private readonly reading = new Map<string, Promise<Cached>>();

  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    private readonly apiKeys: ApiKeyService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * @throws OpenAiError 401 `invalid_api_key` (missing, unknown, revoked, expired), 403
   *   `insufficient_permissions` (no `inference` scope, or operator staff), 403
   *   `tenant_suspended`
   */
  async authenticate(request: IncomingMessage): Promise<InferenceCaller> {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      throw new OpenAiError(
        401,
        'Missing API key: send "Authorization: Bearer <key>".',
        'invalid_request_error',
        'invalid_api_key',
      );
    }
    // The authenticator port takes the Express request; API keys are checked from the key alone
    // (the identity authenticator reads nothing else), and the data plane's own handler has no
    // Express request to give.
    const { principal, rateLimits } = await this.lookup(match[1], request as Request);
    if (!principal || principal.actor.type !== 'api_key') {
      throw new OpenAiError(
        401,
        'Incorrect API key provided.',
        'invalid_request_error',
        'invalid_api_key',
      );
    }
    if (!principal.scopes.includes('inference') || principal.homeTenantId === PLATFORM_TENANT_ID) {
      throw new OpenAiError(
        403,
        'This API key lacks the "inference" scope.',
        'permission_error',
        'insufficient_permissions',
      );
    }
    if (principal.homeTenantStatus === 'suspended') {
      throw new OpenAiError(
        403,
        'The tenant is suspended.',
        'permission_error',
        'tenant_suspended',
      );
    }
    return { keyId: principal.actor.id, tenantId: principal.homeTenantId, rateLimits };
  }

  /**
   * The cached entry while it is younger than the TTL, refreshed in the background from 80 % of
   * it (so steady traffic never waits on PostgreSQL, and nothing older than the TTL is used); a
   * missing or expired entry waits for the one lookup in flight.
   */
  private async lookup(key: string, request: Request): Promise<Cached> {
    const id = createHash('sha256').update(key).digest('base64');
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && now < cached.expiresAtMs) {
      if (now >= cached.refreshAtMs) this.readOnce(id, key, request).catch(() => undefined);
      return cached;
    }
    return this.readOnce(id, key, request);
  }

  /**
   * The key's lookup in flight, or a new one: a burst of requests with the same key (every
   * connection of a client after a quiet spell) makes one, not one each queued on PostgreSQL.
   */
  private readOnce(id: string, key: string, request: Request): Promise<Cached> {
    let reading = this.reading.get(id);
    if (!reading) {
      reading = this.read(id, key, request).finally(() => this.reading.delete(id));
      this.reading.set(id, reading);
    }
    return reading;
  }

  private async read(id: string, key: string, request: Request): Promise<Cached> {
    const now = Date.now();
    const principal =
      key.length <= 512 ? await this.authenticator.authenticate(key, request) : null;
    const rateLimits =
      principal?.actor.type === 'api_key' && principal.homeTenantId !== PLATFORM_TENANT_ID
        ? await this.apiKeys.rateLimitsOf(asTenantId(principal.homeTenantId), principal.actor.id)
        : null;
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    const ttl = principal ? this.config.GATEWAY_KEY_CACHE_TTL_MS : NEGATIVE_TTL_MS;
    const entry: Cached = {
      principal,
      rateLimits,
      refreshAtMs: principal ? now + ttl * 0.8 : now + ttl,
      expiresAtMs: now + ttl,
    };
    this.cache.set(id, entry);
    return entry;
  }
}
