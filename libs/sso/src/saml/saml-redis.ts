import { AppConfig, InjectConfig, RedisConnectionFactory } from '@app/core';
import { Injectable } from '@nestjs/common';
import type { CacheProvider } from '@node-saml/node-saml';
import type Redis from 'ioredis';

/**
 * The SSO library's Redis: AuthnRequest ids (for InResponseTo) and accepted assertion ids (the
 * replay cache), shared by every replica. Keys live under `<REDIS_KEY_PREFIX>:saml:` and carry
 * the tenant, so a request issued for one tenant is unknown to every other tenant's ACS.
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

  /** node-saml's cache of issued request ids, for one tenant, expiring after `SAML_REQUEST_TTL_MS`. */
  requestCache(tenantId: string): CacheProvider {
    const key = (id: string) => `req:${tenantId}:${id}`;
    const ttl = this.config.SAML_REQUEST_TTL_MS;
    return {
      saveAsync: async (id, value) => {
        await this.client.set(key(id), value, 'PX', ttl);
        return { createdAt: Date.now(), value };
      },
      getAsync: (id) => this.client.get(key(id)),
      // Used once: a response to a request id consumes it (node-saml removes it after checking).
      removeAsync: async (id) => (id ? this.client.getdel(key(id)) : null),
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
