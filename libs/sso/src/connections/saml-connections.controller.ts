import { asTenantId, CheckPolicies, CurrentAccess, OperatorTenantInPath } from '@app/authz';
import { EmptyBody, PageQueryDto, ResourceId } from '@app/core';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CreateSamlConnectionDto, UpdateSamlConnectionDto } from './dto/saml-connection.dto';
import {
  ConnectionTestResponse,
  SamlConnectionPage,
  SamlConnectionResponse,
} from './dto/saml-connection.response';
import { SamlConnectionService } from './saml-connection.service';

const ConnectionId = () => ResourceId('id', 'SAML connection');
const NOT_FOUND = 'No such tenant or SAML connection, or one the caller may not see.';
const BAD_INPUT =
  '`validation_failed` with field errors: unreadable metadata or certificates, missing IdP fields, metadataXml together with them, an incomplete custom mapping, an unknown role.';

/** A tenant's SAML connections (API.md, _SSO_). Tenant admins manage them. */
@ApiTags('sso')
@ApiParam({ name: 'tenantId', format: 'uuid' })
@OperatorTenantInPath()
@Controller('v1/tenants/:tenantId/sso/saml-connections')
export class SamlConnectionsController {
  constructor(
    private readonly connections: SamlConnectionService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @CheckPolicies('create', 'SamlConnection')
  @ApiCreatedResponse({ type: SamlConnectionResponse, description: 'Created disabled.' })
  @ApiBadRequestResponse({ description: BAD_INPUT })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async create(
    @Param('tenantId') tenantId: string,
    @Body() body: CreateSamlConnectionDto,
  ): Promise<SamlConnectionResponse> {
    const connection = await this.connections.create(
      asTenantId(tenantId),
      body,
      this.access.principal.actor,
    );
    return this.connections.view(connection);
  }

  @Get()
  @CheckPolicies('read', 'SamlConnection')
  @ApiOkResponse({ type: SamlConnectionPage, description: 'Newest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<SamlConnectionPage> {
    const page = await this.connections.list(asTenantId(tenantId), query.limit, query.after);
    // One at a time: the views share the request's transaction (one connection).
    const data: SamlConnectionResponse[] = [];
    for (const connection of page.data) data.push(await this.connections.view(connection));
    return { data, nextCursor: page.nextCursor };
  }

  @Get(':id')
  @CheckPolicies('read', 'SamlConnection')
  @ApiOkResponse({ type: SamlConnectionResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async get(
    @Param('tenantId') tenantId: string,
    @ConnectionId() id: string,
  ): Promise<SamlConnectionResponse> {
    return this.connections.view(await this.connections.get(asTenantId(tenantId), id));
  }

  @Patch(':id')
  @CheckPolicies('update', 'SamlConnection')
  @ApiOkResponse({ type: SamlConnectionResponse })
  @ApiBadRequestResponse({ description: `${BAD_INPUT} Or an empty change.` })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async update(
    @Param('tenantId') tenantId: string,
    @ConnectionId() id: string,
    @Body() body: UpdateSamlConnectionDto,
  ): Promise<SamlConnectionResponse> {
    return this.connections.view(
      await this.connections.update(asTenantId(tenantId), id, body, this.access.principal.actor),
    );
  }

  @Delete(':id')
  @HttpCode(204)
  @CheckPolicies('delete', 'SamlConnection')
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async remove(@Param('tenantId') tenantId: string, @ConnectionId() id: string): Promise<void> {
    await this.connections.remove(asTenantId(tenantId), id);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @CheckPolicies('enable', 'SamlConnection')
  @ApiOkResponse({ type: SamlConnectionResponse })
  @ApiBadRequestResponse({
    description: '`validation_failed` on `ssoUrl`: only https IdP SSO URLs are enabled.',
  })
  @ApiConflictResponse({ description: '`saml_connection_already_enabled`' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async enable(
    @Param('tenantId') tenantId: string,
    @ConnectionId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<SamlConnectionResponse> {
    return this.connections.view(
      await this.connections.setStatus(
        asTenantId(tenantId),
        id,
        'enabled',
        this.access.principal.actor,
      ),
    );
  }

  @Post(':id/disable')
  @HttpCode(200)
  @CheckPolicies('disable', 'SamlConnection')
  @ApiOkResponse({ type: SamlConnectionResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async disable(
    @Param('tenantId') tenantId: string,
    @ConnectionId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<SamlConnectionResponse> {
    return this.connections.view(
      await this.connections.setStatus(
        asTenantId(tenantId),
        id,
        'disabled',
        this.access.principal.actor,
      ),
    );
  }

  @Post(':id/test')
  @HttpCode(200)
  @CheckPolicies('test', 'SamlConnection')
  @ApiOkResponse({
    type: ConnectionTestResponse,
    description: 'Checks the configuration and builds an AuthnRequest; signs nobody in.',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async test(
    @Param('tenantId') tenantId: string,
    @ConnectionId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<ConnectionTestResponse> {
    return this.connections.test(asTenantId(tenantId), id);
  }
}
