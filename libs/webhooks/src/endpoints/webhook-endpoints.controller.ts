import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { EmptyBody, PageQueryDto, ResourceId } from '@app/core';
import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CreateWebhookEndpointDto, UpdateWebhookEndpointDto } from './dto/webhook-endpoint.dto';
import {
  WebhookDeliveryPage,
  WebhookDeliveryResponse,
  WebhookEndpointPage,
  WebhookEndpointResponse,
  WebhookEndpointWithSecretResponse,
} from './dto/webhook-endpoint.response';
import { WebhookEndpointService } from './webhook-endpoint.service';

/** `:id`: an endpoint's UUID; anything else is simply not found (404). */
const EndpointId = () => ResourceId('id', 'webhook endpoint');
const ApiEndpointIdParam = () =>
  ApiParam({ name: 'id', format: 'uuid', description: 'The webhook endpoint.' });
const ApiTenantParam = () =>
  ApiParam({
    name: 'tenantId',
    format: 'uuid',
    description: 'A customer tenant. Unknown, malformed or unreachable ids answer 404.',
  });
const NOT_FOUND =
  'No such tenant or webhook endpoint, or one the caller may not see (malformed ids too).';
const OFFBOARDED = '`tenant_offboarded`: the tenant is read-only';
const BAD_URL =
  '`validation_failed` with field errors: a url that is not absolute http(s), holds credentials or is over 2048 characters, http where https is required, a host that is or resolves to a non-public address; eventTypes empty or unknown.';

/**
 * A tenant's webhook endpoints and their deliveries. Tenant admins (and platform admins) manage
 * them; tenant admins, tenant and operator compliance officers and assigned account managers
 * read them. The signing secret is shown only by create and rotate-secret.
 */
@ApiTags('webhooks')
@ApiTenantParam()
@Controller('v1/tenants/:tenantId/webhook-endpoints')
export class WebhookEndpointsController {
  constructor(
    private readonly endpoints: WebhookEndpointService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @Header('Cache-Control', 'no-store')
  @CheckPolicies('create', 'WebhookEndpoint')
  @ApiCreatedResponse({
    type: WebhookEndpointWithSecretResponse,
    description: 'The endpoint, enabled; its signing `secret` is shown only here.',
  })
  @ApiBadRequestResponse({ description: BAD_URL })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: OFFBOARDED })
  async create(
    @Param('tenantId') tenantId: string,
    @Body() body: CreateWebhookEndpointDto,
  ): Promise<WebhookEndpointWithSecretResponse> {
    const { endpoint, secret } = await this.endpoints.create(
      asTenantId(tenantId),
      body,
      this.access.principal.actor,
    );
    return { ...this.endpoints.view(endpoint), secret };
  }

  @Get()
  @CheckPolicies('read', 'WebhookEndpoint')
  @ApiOkResponse({ type: WebhookEndpointPage, description: 'Newest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<WebhookEndpointPage> {
    const page = await this.endpoints.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map((e) => this.endpoints.view(e)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @CheckPolicies('read', 'WebhookEndpoint')
  @ApiEndpointIdParam()
  @ApiOkResponse({ type: WebhookEndpointResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async get(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
  ): Promise<WebhookEndpointResponse> {
    return this.endpoints.view(await this.endpoints.get(asTenantId(tenantId), id));
  }

  @Patch(':id')
  @CheckPolicies('update', 'WebhookEndpoint')
  @ApiEndpointIdParam()
  @ApiOkResponse({ type: WebhookEndpointResponse })
  @ApiBadRequestResponse({ description: `${BAD_URL} Or an empty change.` })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: OFFBOARDED })
  async update(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
    @Body() body: UpdateWebhookEndpointDto,
  ): Promise<WebhookEndpointResponse> {
    return this.endpoints.view(
      await this.endpoints.update(asTenantId(tenantId), id, body, this.access.principal.actor),
    );
  }

  @Delete(':id')
  @HttpCode(204)
  @CheckPolicies('delete', 'WebhookEndpoint')
  @ApiEndpointIdParam()
  @ApiNoContentResponse({ description: 'Gone, with its deliveries (queued ones are not sent).' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: OFFBOARDED })
  async remove(@Param('tenantId') tenantId: string, @EndpointId() id: string): Promise<void> {
    await this.endpoints.remove(asTenantId(tenantId), id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @CheckPolicies('rotate', 'WebhookEndpoint')
  @ApiEndpointIdParam()
  @ApiOkResponse({
    type: WebhookEndpointWithSecretResponse,
    description: 'The new `secret`, shown only here; the old one signs nothing any more.',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: OFFBOARDED })
  async rotateSecret(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<WebhookEndpointWithSecretResponse> {
    const { endpoint, secret } = await this.endpoints.rotateSecret(
      asTenantId(tenantId),
      id,
      this.access.principal.actor,
    );
    return { ...this.endpoints.view(endpoint), secret };
  }

  @Post(':id/test')
  @HttpCode(202)
  @CheckPolicies('create', 'WebhookDelivery')
  @ApiEndpointIdParam()
  @ApiAcceptedResponse({
    type: WebhookDeliveryResponse,
    description: 'A `webhook.test` delivery, queued; it is sent right after this answer.',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: `\`webhook_endpoint_disabled\`; ${OFFBOARDED}` })
  async test(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<WebhookDeliveryResponse> {
    return this.endpoints.deliveryView(await this.endpoints.sendTest(asTenantId(tenantId), id));
  }

  @Get(':id/deliveries')
  @CheckPolicies('read', 'WebhookDelivery')
  @ApiEndpointIdParam()
  @ApiOkResponse({ type: WebhookDeliveryPage, description: 'Newest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async deliveries(
    @Param('tenantId') tenantId: string,
    @EndpointId() id: string,
    @Query() query: PageQueryDto,
  ): Promise<WebhookDeliveryPage> {
    const page = await this.endpoints.deliveries(
      asTenantId(tenantId),
      id,
      query.limit,
      query.after,
    );
    return {
      data: page.data.map((d) => this.endpoints.deliveryView(d)),
      nextCursor: page.nextCursor,
    };
  }
}
