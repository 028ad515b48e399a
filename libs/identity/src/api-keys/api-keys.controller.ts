import { asTenantId, CheckPolicies, CurrentAccess, PLATFORM_TENANT_ID, TenantId } from '@app/authz';
import { PageQueryDto } from '@app/core';
import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiKeyService } from './api-key.service';
import {
  ApiKeyPage,
  ApiKeyResponse,
  CreatedApiKeyResponse,
  RotatedApiKeyResponse,
} from './dto/api-key.response';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import { UpdateApiKeyDto } from './dto/update-api-key.dto';

const BAD_LIMITS =
  '`validation_failed`: rateLimits missing, not an object, or a limit out of range';
const REVOKED = '`api_key_revoked`: the key is revoked or expired';

/** Shared handlers of the tenant and platform key routes; only where the tenant comes from differs. */
abstract class ApiKeyRoutes {
  constructor(
    protected readonly keys: ApiKeyService,
    protected readonly access: CurrentAccess,
  ) {}

  protected async createKey(
    tenantId: TenantId,
    body: CreateApiKeyDto,
  ): Promise<CreatedApiKeyResponse> {
    const { apiKey, key } = await this.keys.create(tenantId, body, this.access.principal.actor);
    return { ...this.keys.view(this.access.ability, apiKey), key };
  }

  protected async listKeys(tenantId: TenantId, query: PageQueryDto): Promise<ApiKeyPage> {
    const page = await this.keys.list(tenantId, query.limit, query.after);
    return {
      data: page.data.map((key) => this.keys.view(this.access.ability, key)),
      nextCursor: page.nextCursor,
    };
  }

  protected async getKey(tenantId: TenantId, id: string): Promise<ApiKeyResponse> {
    return this.keys.view(this.access.ability, await this.keys.get(tenantId, id));
  }

  protected async updateKey(
    tenantId: TenantId,
    id: string,
    body: UpdateApiKeyDto,
  ): Promise<ApiKeyResponse> {
    return this.keys.view(
      this.access.ability,
      await this.keys.updateRateLimits(tenantId, id, body.rateLimits),
    );
  }

  protected async revokeKey(tenantId: TenantId, id: string): Promise<ApiKeyResponse> {
    return this.keys.view(this.access.ability, await this.keys.revoke(tenantId, id));
  }

  protected async rotateKey(tenantId: TenantId, id: string): Promise<RotatedApiKeyResponse> {
    const { apiKey, key } = await this.keys.rotate(tenantId, id);
    return { id: apiKey.id, key, prefix: apiKey.prefix };
  }
}

/** Unknown ids answer 404 like another tenant's (ParseUUIDPipe would say 400 and leak nothing either). */
const KeyId = () => Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 404 }));

@ApiTags('api-keys')
@Controller('v1/tenants/:tenantId/api-keys')
export class TenantApiKeysController extends ApiKeyRoutes {
  constructor(keys: ApiKeyService, access: CurrentAccess) {
    super(keys, access);
  }

  @Post()
  @Header('Cache-Control', 'no-store')
  @CheckPolicies('create', 'ApiKey')
  @ApiCreatedResponse({
    type: CreatedApiKeyResponse,
    description: 'The secret `key` is shown only here.',
  })
  create(@Param('tenantId') tenantId: string, @Body() body: CreateApiKeyDto) {
    return this.createKey(asTenantId(tenantId), body);
  }

  @Get()
  @CheckPolicies('read', 'ApiKey')
  @ApiOkResponse({ type: ApiKeyPage })
  list(@Param('tenantId') tenantId: string, @Query() query: PageQueryDto) {
    return this.listKeys(asTenantId(tenantId), query);
  }

  @Get(':id')
  @CheckPolicies('read', 'ApiKey')
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiNotFoundResponse()
  get(@Param('tenantId') tenantId: string, @KeyId() id: string) {
    return this.getKey(asTenantId(tenantId), id);
  }

  @Patch(':id')
  @CheckPolicies('update', 'ApiKey')
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiBadRequestResponse({ description: BAD_LIMITS })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: REVOKED })
  update(@Param('tenantId') tenantId: string, @KeyId() id: string, @Body() body: UpdateApiKeyDto) {
    return this.updateKey(asTenantId(tenantId), id, body);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @CheckPolicies('revoke', 'ApiKey')
  @ApiOkResponse({ type: ApiKeyResponse })
  revoke(@Param('tenantId') tenantId: string, @KeyId() id: string) {
    return this.revokeKey(asTenantId(tenantId), id);
  }

  @Post(':id/rotate')
  @Header('Cache-Control', 'no-store')
  @HttpCode(200)
  @CheckPolicies('rotate', 'ApiKey')
  @ApiOkResponse({ type: RotatedApiKeyResponse })
  rotate(@Param('tenantId') tenantId: string, @KeyId() id: string) {
    return this.rotateKey(asTenantId(tenantId), id);
  }
}

const PLATFORM = asTenantId(PLATFORM_TENANT_ID);
const OPERATOR = { scope: 'operator' } as const;

/** Keys of the operator's platform organization (platform roles, `usage:write`). */
@ApiTags('api-keys')
@Controller('v1/platform/api-keys')
export class PlatformApiKeysController extends ApiKeyRoutes {
  constructor(keys: ApiKeyService, access: CurrentAccess) {
    super(keys, access);
  }

  @Post()
  @Header('Cache-Control', 'no-store')
  @CheckPolicies('create', 'ApiKey', OPERATOR)
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  create(@Body() body: CreateApiKeyDto) {
    return this.createKey(PLATFORM, body);
  }

  @Get()
  @CheckPolicies('read', 'ApiKey', OPERATOR)
  @ApiOkResponse({ type: ApiKeyPage })
  list(@Query() query: PageQueryDto) {
    return this.listKeys(PLATFORM, query);
  }

  @Get(':id')
  @CheckPolicies('read', 'ApiKey', OPERATOR)
  @ApiOkResponse({ type: ApiKeyResponse })
  get(@KeyId() id: string) {
    return this.getKey(PLATFORM, id);
  }

  @Patch(':id')
  @CheckPolicies('update', 'ApiKey', OPERATOR)
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiBadRequestResponse({ description: BAD_LIMITS })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: REVOKED })
  update(@KeyId() id: string, @Body() body: UpdateApiKeyDto) {
    return this.updateKey(PLATFORM, id, body);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @CheckPolicies('revoke', 'ApiKey', OPERATOR)
  @ApiOkResponse({ type: ApiKeyResponse })
  revoke(@KeyId() id: string) {
    return this.revokeKey(PLATFORM, id);
  }

  @Post(':id/rotate')
  @Header('Cache-Control', 'no-store')
  @HttpCode(200)
  @CheckPolicies('rotate', 'ApiKey', OPERATOR)
  @ApiOkResponse({ type: RotatedApiKeyResponse })
  rotate(@KeyId() id: string) {
    return this.rotateKey(PLATFORM, id);
  }
}
