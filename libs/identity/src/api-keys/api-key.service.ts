import {
  ApiKeyScope,
  AppAbility,
  PLATFORM_ROLES,
  PLATFORM_TENANT_ID,
  permittedView,
  Role,
  TENANT_ROLES,
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
import { ApiKey } from './api-key.entity';
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
    });
    if (key.revokedAt) throw new ApiKeyRevoked('This key is revoked.');
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) {
      throw new ApiKeyRevoked('This key has expired; create a new key.');
    }
    return key;
  }
}

/** Tenant keys take tenant roles and `inference`; platform keys platform roles and `usage:write`. */
function assertGrantable(tenantId: TenantId, roles: Role[], scopes: ApiKeyScope[]): void {
  const platform = tenantId === PLATFORM_TENANT_ID;
  const allowedRoles: readonly string[] = platform ? PLATFORM_ROLES : TENANT_ROLES;
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
