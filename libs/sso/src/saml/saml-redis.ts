import { AppConfig, InjectConfig, RedisConnectionFactory } from '@app/core';
import { Injectable } from '@nestjs/common';
import type { CacheProvider } from '@node-saml/node-saml';
import type Redis from 'ioredis';

/**
 * The SSO library's Redis: AuthnRequest ids (for InResponseTo, each with the browser that
 * started it) and accepted assertion ids (the replay cache), shared by every replica. Keys live
 * under `<REDIS_KEY_PREFIX>:saml:` and carry the tenant, so a request issued for one tenant is
 * unknown to every other tenant's ACS.
 */
@Injectable()
export class SamlRedis {
  readonly client: Redis;

  constructor(
    factory: RedisConnectionFactory,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.client = factory.create('client', 'saml', {
      keyPrefix: `${config.REDIS_KEY_PREFIX}:saml:`,
    });
  }

  /**
   * node-saml's cache of issued request ids, for one tenant, expiring after `SAML_REQUEST_TTL_MS`.
   * Each id is stored as `<IssueInstant>` or `<IssueInstant> <browser>`, where `browser` is the
   * SHA-256 (hex) of the login cookie of the browser that started the sign-in (login-binding.ts);
   * node-saml sees only the instant.
   *
   * @param use.browser the browser hash to store with the ids issued through this cache (none:
   *   the request is bound to no browser, and no response to it is accepted)
   * @param use.answered called when a response consumes an id, with the browser hash stored with
   *   it (null: none), or with `undefined` when the id was already gone (spent by a concurrent
   *   response, or expired)
   */
  requestCache(tenantId: string, use: RequestCacheUse = {}): CacheProvider {
    const key = (id: string) => `req:${tenantId}:${id}`;
    const ttl = this.config.SAML_REQUEST_TTL_MS;
    const instantOf = (stored: string | null) => (stored === null ? null : stored.split(' ')[0]);
    return {
      saveAsync: async (id, value) => {
        await this.client.set(key(id), use.browser ? `${value} ${use.browser}` : value, 'PX', ttl);
        return { createdAt: Date.now(), value };
      },
      getAsync: async (id) => instantOf(await this.client.get(key(id))),
      // Used once: a response to a request id consumes it (node-saml removes it after checking,
      // whatever the outcome); `answered` hears with which browser it was stored.
      removeAsync: async (id) => {
        if (!id) return null;
        const stored = await this.client.getdel(key(id));
        use.answered?.(id, stored === null ? undefined : (stored.split(' ')[1] ?? null));
        return instantOf(stored);
      },
    };
  }

  /**
   * Records an assertion id as used until `until` (its NotOnOrAfter, plus the skew).
   *
   * @returns false when it was already used: a replay
   */
  async firstUse(tenantId: string, assertionId: string, until: Date): Promise<boolean> {
    const ttl = Math.max(1_000, until.getTime() - Date.now() + this.config.SAML_CLOCK_SKEW_MS);
    const set = await this.client.set(`assertion:${tenantId}:${assertionId}`, '1', 'PX', ttl, 'NX');
    return set === 'OK';
  }
}

/** How one HTTP request uses the AuthnRequest id cache ({@link SamlRedis.requestCache}). */
export interface RequestCacheUse {
  browser?: string;
  answered?: (id: string, browser: string | null | undefined) => void;
}
