import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { EmptyBody, PageQueryDto, ResourceId } from '@app/core';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CreateEndpointDto, EndpointQueryDto, UpdateEndpointDto } from './dto/endpoint.dto';
import {
  EndpointEventPage,
  EndpointEventResponse,
  EndpointPage,
  EndpointResponse,
} from './dto/endpoint.response';
import { EndpointService } from './endpoint.service';

const EndpointId = () => ResourceId('id', 'endpoint');
const ApiEndpointIdParam = () =>
  ApiParam({ name: 'id', format: 'uuid', description: 'The dedicated endpoint.' });
const NOT_FOUND = 'No such tenant or endpoint, or one the caller may not see (malformed ids too).';
const ILLEGAL =
  '`illegal_endpoint_transition` (`endpointStatus`, `allowed`); `tenant_offboarded`: the tenant is read-only';
const PLACEMENT =
  '`region_not_allowed`, `region_missing_certification`, `model_family_not_allowed` (compliance profile); `tenant_suspended`';

/**
 * A tenant's dedicated endpoints. The tenant's admins and ML engineers (and platform admins)
 * deploy and run them; every tenant member, assigned account managers and operator compliance
 * officers read them. Requests change the desired spec and answer at once; the reconciler
 * converges the replicas (watch `status` and `GET .../events`).
 */
@ApiTags('endpoints')
@ApiParam({ name: 'tenantId', format: 'uuid', description: 'A customer tenant.' })
@Controller('v1/tenants/:tenantId/endpoints')
export class EndpointsController {
  constructor(
    private readonly endpoints: EndpointService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @CheckPolicies('create', 'Endpoint')
  @ApiCreatedResponse({ type: EndpointResponse, description: '`pending`; provisioning follows.' })
  @ApiBadRequestResponse({ description: '`validation_failed`: fields, unknown model or region' })
  @ApiForbiddenResponse({ description: PLACEMENT })
  @ApiUnprocessableEntityResponse({ description: '`model_not_offered_in_region` (`regions`)' })
  @ApiConflictResponse({
    description:
      '`endpoint_quota_exceeded` (`limit`, `used`), `no_contract_in_force`, `region_capacity_exhausted` (`capacity`, `allocated`, `requested`), `endpoint_name_taken`, `tenant_offboarded`',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async create(
    @Param('tenantId') tenantId: string,
    @Body() body: CreateEndpointDto,
  ): Promise<EndpointResponse> {
    return this.endpoints.view(
      await this.endpoints.create(asTenantId(tenantId), body, this.access.principal.actor),
    );
  }

  @Get()
  @CheckPolicies('read', 'Endpoint')
  @ApiOkResponse({ type: EndpointPage, description: 'Newest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: EndpointQueryDto,
  ): Promise<EndpointPage> {
    const page = await this.endpoints.list(asTenantId(tenantId), query, query.limit, query.after);
    return { data: page.data.map((e) => this.endpoints.view(e)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @CheckPolicies('read', 'Endpoint')
  @ApiEndpointIdParam()
  @ApiOkResponse({ type: EndpointResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async get(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
  ): Promise<EndpointResponse> {
    return this.endpoints.view(await this.endpoints.get(asTenantId(tenantId), id));
  }

  @Patch(':id')
  @CheckPolicies('update', 'Endpoint')
  @ApiEndpointIdParam()
  @ApiOkResponse({ type: EndpointResponse, description: 'Usually `updating` until converged.' })
  @ApiBadRequestResponse({
    description: '`validation_failed`: empty change, min > max, replicas outside them',
  })
  @ApiForbiddenResponse({ description: PLACEMENT })
  @ApiConflictResponse({ description: `${ILLEGAL}; \`region_capacity_exhausted\`` })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async update(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
    @Body() body: UpdateEndpointDto,
  ): Promise<EndpointResponse> {
    return this.endpoints.view(
      await this.endpoints.update(asTenantId(tenantId), id, body, this.access.principal.actor),
    );
  }

  @Post(':id/stop')
  @HttpCode(202)
  @CheckPolicies('stop', 'Endpoint')
  @ApiEndpointIdParam()
  @ApiAcceptedResponse({ type: EndpointResponse, description: '`stopping`, then `stopped`.' })
  @ApiConflictResponse({ description: ILLEGAL })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async stop(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<EndpointResponse> {
    return this.endpoints.view(
      await this.endpoints.stop(asTenantId(tenantId), id, this.access.principal.actor),
    );
  }

  @Post(':id/start')
  @HttpCode(202)
  @CheckPolicies('start', 'Endpoint')
  @ApiEndpointIdParam()
  @ApiAcceptedResponse({ type: EndpointResponse, description: '`provisioning`, then `running`.' })
  @ApiForbiddenResponse({ description: PLACEMENT })
  @ApiConflictResponse({ description: `${ILLEGAL}; \`region_capacity_exhausted\`` })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async start(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<EndpointResponse> {
    return this.endpoints.view(
      await this.endpoints.start(asTenantId(tenantId), id, this.access.principal.actor),
    );
  }

  @Delete(':id')
  @HttpCode(202)
  @CheckPolicies('delete', 'Endpoint')
  @ApiEndpointIdParam()
  @ApiAcceptedResponse({ type: EndpointResponse, description: '`deleting`, then `deleted`.' })
  @ApiConflictResponse({ description: ILLEGAL })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async remove(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
  ): Promise<EndpointResponse> {
    return this.endpoints.view(
      await this.endpoints.remove(asTenantId(tenantId), id, this.access.principal.actor),
    );
  }

  @Get(':id/events')
  @CheckPolicies('read', 'Endpoint')
  @ApiEndpointIdParam()
  @ApiOkResponse({ type: EndpointEventPage, description: 'Newest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async events(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
    @Query() query: PageQueryDto,
  ): Promise<EndpointEventPage> {
    const page = await this.endpoints.events(asTenantId(tenantId), id, query.limit, query.after);
    return {
      data: page.data.map(EndpointEventResponse.of),
      nextCursor: page.nextCursor,
    };
  }
}
