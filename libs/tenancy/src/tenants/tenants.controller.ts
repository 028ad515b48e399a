import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { PageQueryDto } from '@app/core';
import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { TenantPage, TenantResponse } from './dto/tenant.response';
import { TenantService } from './tenant.service';

@ApiTags('tenants')
@Controller('v1/tenants')
export class TenantsController {
  constructor(
    private readonly tenants: TenantService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @CheckPolicies('create', 'Tenant', { scope: 'platform' })
  @ApiCreatedResponse({ type: TenantResponse })
  async create(@Body() body: CreateTenantDto): Promise<TenantResponse> {
    return TenantResponse.of(await this.tenants.create(body));
  }

  @Get()
  @CheckPolicies('read', 'Tenant', { scope: 'platform' })
  @ApiOkResponse({ type: TenantPage, description: 'Tenants the caller may read, oldest first.' })
  async list(@Query() query: PageQueryDto): Promise<TenantPage> {
    const page = await this.tenants.list(this.access.ability, query.limit, query.after);
    return { data: page.data.map(TenantResponse.of), nextCursor: page.nextCursor };
  }

  @Get(':tenantId')
  @CheckPolicies('read', 'Tenant')
  @ApiOkResponse({ type: TenantResponse })
  @ApiNotFoundResponse({ description: 'No such tenant, or one the caller may not see.' })
  async get(@Param('tenantId') tenantId: string): Promise<TenantResponse> {
    return TenantResponse.of(await this.tenants.get(asTenantId(tenantId)));
  }
}
