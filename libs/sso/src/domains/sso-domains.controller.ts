import { asTenantId, CheckPolicies, OperatorTenantInPath } from '@app/authz';
import { EmptyBody, PageQueryDto, ResourceId } from '@app/core';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ClaimDomainDto, SsoDomainPage, SsoDomainResponse } from './dto/sso-domain.dto';
import { SsoDomainService } from './sso-domain.service';

const DomainId = () => ResourceId('id', 'domain');
const NOT_FOUND = 'No such tenant or domain, or one the caller may not see.';

/** A tenant's email domains, proven by a DNS TXT record (API.md, _SSO_). */
@ApiTags('sso')
@ApiParam({ name: 'tenantId', format: 'uuid' })
@OperatorTenantInPath()
@Controller('v1/tenants/:tenantId/domains')
export class SsoDomainsController {
  constructor(private readonly domains: SsoDomainService) {}

  @Post()
  @CheckPolicies('create', 'SsoDomain')
  @ApiCreatedResponse({
    type: SsoDomainResponse,
    description: 'Pending, with the TXT record to publish.',
  })
  @ApiConflictResponse({ description: 'Already claimed by this tenant.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async claim(
    @Param('tenantId') tenantId: string,
    @Body() body: ClaimDomainDto,
  ): Promise<SsoDomainResponse> {
    return this.domains.view(await this.domains.claim(asTenantId(tenantId), body.domain));
  }

  @Get()
  @CheckPolicies('read', 'SsoDomain')
  @ApiOkResponse({ type: SsoDomainPage })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<SsoDomainPage> {
    const page = await this.domains.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map((d) => this.domains.view(d)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @CheckPolicies('read', 'SsoDomain')
  @ApiOkResponse({ type: SsoDomainResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async get(
    @Param('tenantId') tenantId: string,
    @DomainId() id: string,
  ): Promise<SsoDomainResponse> {
    return this.domains.view(await this.domains.get(asTenantId(tenantId), id));
  }

  @Post(':id/verify')
  @HttpCode(200)
  @CheckPolicies('verify', 'SsoDomain')
  @ApiOkResponse({ type: SsoDomainResponse, description: 'Verified.' })
  @ApiUnprocessableEntityResponse({ description: '`domain_verification_failed`' })
  @ApiConflictResponse({ description: '`domain_taken`: verified by another tenant.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async verify(
    @Param('tenantId') tenantId: string,
    @DomainId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<SsoDomainResponse> {
    return this.domains.view(await this.domains.verify(asTenantId(tenantId), id));
  }

  @Delete(':id')
  @HttpCode(204)
  @CheckPolicies('delete', 'SsoDomain')
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async remove(@Param('tenantId') tenantId: string, @DomainId() id: string): Promise<void> {
    await this.domains.remove(asTenantId(tenantId), id);
  }
}
