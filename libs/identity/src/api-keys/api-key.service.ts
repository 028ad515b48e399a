import {
  ApiKeyScope,
  AppAbility,
  isUuid,
  PLATFORM_TENANT_ID,
  permittedView,
  Role,
  rolesOf,
  TenantDb,
  TenantId,
} from '@app/authz';
import {
  Actor,
  actorRef,
  AppConfig,
  InjectConfig,
  tenantRowsNewestFirst,
  NotFound,
  Page,
  RequestContext,
} from '@app/core';
import { Injectable } from '@nestjs/common';
import { ApiKeyRevoked, RoleNotAllowedHere } from '../identity-problems';
import { apiKeyPrefix, newApiKey, secretHash } from '../secrets';
import { ApiKey, ApiKeyRateLimits } from './api-key.entity';
import { ApiKeyResponse } from './dto/api-key.response';

/** Every field of a key; the caller's field rules decide which of them it sees. */
const VIEW_FIELDS = [
  'id',
  'tenantId',
  'name',
  'prefix',
  'secretHash',
  'roles',
  'scopes',
  'expiresAt',
  'rateLimits',
  'lastUsedAt',
  'revokedAt',
  'rotatedAt',
  'createdBy',
  'createdAt',
] as const;

export interface NewApiKey {
  name: string;
  roles: Role[];
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  /** Null, or absent limits, for unlimited. */
  rateLimits?: ApiKeyRateLimits | null;
}

/** Creates, lists, revokes and rotates API keys. Runs in the request's tenant-scoped transaction. */
@Injectable()
export class ApiKeyService {
  constructor(
    private readonly db: TenantDb,
    @InjectConfig() private readonly config: AppConfig,
    private readonly context: RequestContext,
  ) {}

  /**
   * Creates a key for `tenantId` and returns it with its secret, which is not stored.
   *
   * @throws RoleNotAllowedHere (422) when a role or scope does not belong to this kind of key,
   *   or when it has neither.
   */
  async create(
    tenantId: TenantId,
    input: NewApiKey,
    by: Actor,
  ): Promise<{ apiKey: ApiKey; key: string }> {
    assertGrantable(tenantId, input.roles, input.scopes);
    const key = newApiKey(this.config.API_KEY_ENVIRONMENT);
    const repository = this.db.manager.getRepository(ApiKey);
    const apiKey = await repository.save(
      repository.create({
        tenantId,
        name: input.name,
        prefix: apiKeyPrefix(key),
        secretHash: secretHash(key),
        roles: input.roles,
        scopes: input.scopes,
        expiresAt: input.expiresAt,
        rateLimits: normalizedRateLimits(input.rateLimits),
        createdBy: actorRef(by),
      }),
    );
    return { apiKey, key };
  }

  /** Newest first, `limit` per page. @throws ValidationFailed for a forged cursor. */
  async list(tenantId: TenantId, limit: number, after?: string): Promise<Page<ApiKey>> {
    return tenantRowsNewestFirst(this.db.manager, ApiKey, tenantId, limit, after);
  }

  /** @throws NotFound when there is no such key in this tenant (another tenant's key is not found). */
  async get(tenantId: TenantId, id: string): Promise<ApiKey> {
    const key = await this.db.manager.getRepository(ApiKey).findOneBy({ tenantId, id });
    if (!key) throw new NotFound('No such API key.');
    return key;
  }

  /**
   * Replaces the key's rate limits (null, or no limit in it: unlimited). Reservations made from
   * the next lookup ({@link rateLimitsOf}) on use them; counts in the current window stay.
   *
   * @throws NotFound when there is no such key in this tenant
   * @throws ApiKeyRevoked (409) for a revoked or expired key
   */
  async updateRateLimits(
    tenantId: TenantId,
    id: string,
    rateLimits: ApiKeyRateLimits | null,
  ): Promise<ApiKey> {
    const key = await this.lockActive(tenantId, id);
    key.rateLimits = normalizedRateLimits(rateLimits);
    return this.db.manager.getRepository(ApiKey).save(key);
  }

  /**
   * The rate limits of a key, for the data plane: what it passes as `rateLimit` to metering's
   * `QuotaReservationService.reserve`. Reads in its own read-only transaction of the tenant (or
   * the caller's, inside one), one primary-key lookup; nothing is cached, so a change applies
   * to the next request (a caller may cache for a few seconds if a lookup per request is too
   * many).
   *
   * @returns null when the key has no limits, or no such key of the tenant exists (an
   * authenticated key always exists; revocation is the authenticator's business)
   */
  async rateLimitsOf(tenantId: TenantId, keyId: string): Promise<ApiKeyRateLimits | null> {
    if (!isUuid(keyId)) return null;
    const read = () =>
      this.db.manager
        .getRepository(ApiKey)
        .findOne({ select: { id: true, rateLimits: true }, where: { tenantId, id: keyId } });
    const key =
      this.db.scope === undefined
        ? await this.db.run({ kind: 'tenant', tenantId }, read, { readOnly: true })
        : await read();
    return key?.rateLimits ?? null;
  }

  /** Revokes the key; it answers 401 from the next request on, on every replica (no cache). */
  async revoke(tenantId: TenantId, id: string): Promise<ApiKey> {
    const key = await this.lockActive(tenantId, id);
    key.revokedAt = new Date();
    return this.db.manager.getRepository(ApiKey).save(key);
  }

  /**
   * New secret, same id, roles and expiry; the old secret stops working at once.
   *
   * @throws ApiKeyRevoked (409) for a revoked key.
   */
  async rotate(tenantId: TenantId, id: string): Promise<{ apiKey: ApiKey; key: string }> {
    const apiKey = await this.lockActive(tenantId, id);
    const key = newApiKey(this.config.API_KEY_ENVIRONMENT);
    apiKey.prefix = apiKeyPrefix(key);
    apiKey.secretHash = secretHash(key);
    apiKey.rotatedAt = new Date();
    await this.db.manager.getRepository(ApiKey).save(apiKey);
    return { apiKey, key };
  }

  /** The response view: only the fields the caller may read (field-level rules). */
  view(ability: AppAbility, key: ApiKey): ApiKeyResponse {
    const visible = permittedView(ability, 'read', 'ApiKey', key, VIEW_FIELDS);
    const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);
    const expired = key.expiresAt !== null && key.expiresAt.getTime() <= Date.now();
    return {
      id: visible.id!,
      name: visible.name!,
      prefix: visible.prefix!,
      roles: visible.roles ?? [],
      scopes: visible.scopes ?? [],
      expiresAt: iso(visible.expiresAt),
      rateLimits: visible.rateLimits ?? null,
      lastUsedAt: iso(visible.lastUsedAt),
      revokedAt: iso(visible.revokedAt),
      rotatedAt: iso(visible.rotatedAt),
      status: key.revokedAt ? 'revoked' : expired ? 'expired' : 'active',
      createdAt: key.createdAt.toISOString(),
    };
  }

  private async lockActive(tenantId: TenantId, id: string): Promise<ApiKey> {
    const key = await this.db.manager
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .setLock('pessimistic_write')
      .where('k.tenant_id = :tenantId AND k.id = :id', { tenantId, id })
      .getOne();
    if (!key) throw new NotFound('No such API key.');
    // What the audit log records as `changes.before` (never the hash: it is redacted there too).
    this.context.recordBefore({
      prefix: key.prefix,
      revokedAt: key.revokedAt,
      rotatedAt: key.rotatedAt,
      expiresAt: key.expiresAt,
      rateLimits: key.rateLimits,
    });
    if (key.revokedAt) throw new ApiKeyRevoked('This key is revoked.');
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) {
      throw new ApiKeyRevoked('This key has expired; create a new key.');
    }
    return key;
  }
}

/** Only the limits that are set; null when none is (unlimited either way, one spelling stored). */
function normalizedRateLimits(
  limits: ApiKeyRateLimits | null | undefined,
): ApiKeyRateLimits | null {
  if (!limits) return null;
  const kept: ApiKeyRateLimits = {};
  if (limits.requestsPerMinute !== undefined && limits.requestsPerMinute !== null) {
    kept.requestsPerMinute = limits.requestsPerMinute;
  }
  if (limits.tokensPerMinute !== undefined && limits.tokensPerMinute !== null) {
    kept.tokensPerMinute = limits.tokensPerMinute;
  }
  return Object.keys(kept).length > 0 ? kept : null;
}

/** Tenant keys take tenant roles and `inference`; platform keys platform roles and `usage:write`. */
function assertGrantable(tenantId: TenantId, roles: Role[], scopes: ApiKeyScope[]): void {
  const platform = tenantId === PLATFORM_TENANT_ID;
  const allowedRoles: readonly string[] = rolesOf(tenantId);
  const allowedScopes: readonly ApiKeyScope[] = platform ? ['usage:write'] : ['inference'];
  const errors = [
    ...roles.flatMap((role, i) =>
      allowedRoles.includes(role)
        ? []
        : [
            {
              path: `roles[${i}]`,
              message: `${role} is not a ${platform ? 'platform' : 'tenant'} role`,
            },
          ],
    ),
    ...scopes.flatMap((scope, i) =>
      allowedScopes.includes(scope)
        ? []
        : [
            {
              path: `scopes[${i}]`,
              message: `${scope} is not available on ${platform ? 'platform' : 'tenant'} keys`,
            },
          ],
    ),
  ];
  if (!roles.length && !scopes.length)
    errors.push({ path: 'roles', message: 'a key needs at least one role or scope' });
  if (errors.length)
    throw new RoleNotAllowedHere(`${errors.length} role or scope problem(s).`, { errors });
}
