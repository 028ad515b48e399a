import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { PageQueryDto } from '@app/core';
import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  ComplianceProfileDto,
  ComplianceProfileResponse,
  ComplianceProfileVersionPage,
} from '../compliance/compliance-profile.dto';
import { CreateTenantDto, TenantReasonDto, TenantTransitionDto } from './dto/create-tenant.dto';
import {
  profileResponse,
  profileVersionResponse,
  TenantPage,
  TenantResponse,
} from './dto/tenant.response';
import { ApiTenantIdParam, NOT_FOUND_TENANT, OFFBOARDED } from '../openapi';
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
  @ApiCreatedResponse({
    type: TenantResponse,
    description:
      'The tenant, in `onboarding`. An account manager (a person) who creates it is assigned to it.',
  })
  @ApiUnprocessableEntityResponse({ description: '`invalid_compliance_profile`' })
  @ApiConflictResponse({ description: '`tenant_slug_taken`' })
  async create(@Body() body: CreateTenantDto): Promise<TenantResponse> {
    return TenantResponse.of(await this.tenants.create(body, this.access.principal));
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
  @ApiTenantIdParam()
  @ApiOkResponse({ type: TenantResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  async get(@Param('tenantId') tenantId: string): Promise<TenantResponse> {
    return TenantResponse.of(await this.tenants.get(asTenantId(tenantId)));
  }

  @Post(':tenantId/activate')
  @HttpCode(200)
  @CheckPolicies('activate', 'Tenant')
  @ApiTenantIdParam()
  @ApiOkResponse({ type: TenantResponse, description: 'onboarding or suspended → active.' })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  @ApiConflictResponse({ description: `\`illegal_tenant_transition\`; ${OFFBOARDED}` })
  async activate(
    @Param('tenantId') tenantId: string,
    @Body() body: TenantTransitionDto,
  ): Promise<TenantResponse> {
    return TenantResponse.of(
      await this.tenants.transition(asTenantId(tenantId), 'activate', body.reason),
    );
  }

  @Post(':tenantId/suspend')
  @HttpCode(200)
  @CheckPolicies('suspend', 'Tenant')
  @ApiOkResponse({
    type: TenantResponse,
    description: "active → suspended: the tenant's keys and sessions get 403 `tenant_suspended`.",
  })
  @ApiTenantIdParam()
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  @ApiConflictResponse({ description: `\`illegal_tenant_transition\`; ${OFFBOARDED}` })
  async suspend(
    @Param('tenantId') tenantId: string,
    @Body() body: TenantReasonDto,
  ): Promise<TenantResponse> {
    return TenantResponse.of(
      await this.tenants.transition(asTenantId(tenantId), 'suspend', body.reason),
    );
  }

  @Post(':tenantId/offboard')
  @HttpCode(200)
  @CheckPolicies('offboard', 'Tenant')
  @ApiTenantIdParam()
  @ApiOkResponse({
    type: TenantResponse,
    description:
      'Any status → offboarded (final): credentials stop authenticating, every later write answers 409 `tenant_offboarded`, and active contracts that have not ended are terminated ("tenant offboarded").',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  @ApiConflictResponse({ description: OFFBOARDED })
  async offboard(
    @Param('tenantId') tenantId: string,
    @Body() body: TenantReasonDto,
  ): Promise<TenantResponse> {
    return TenantResponse.of(
      await this.tenants.transition(asTenantId(tenantId), 'offboard', body.reason),
    );
  }

  @Get(':tenantId/compliance-profile')
  @CheckPolicies('read', 'ComplianceProfile')
  @ApiTenantIdParam()
  @ApiOkResponse({ type: ComplianceProfileResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  async profile(@Param('tenantId') tenantId: string): Promise<ComplianceProfileResponse> {
    return profileResponse(await this.tenants.get(asTenantId(tenantId)));
  }

  @Put(':tenantId/compliance-profile')
  @CheckPolicies('update', 'ComplianceProfile')
  @ApiTenantIdParam()
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  @ApiOkResponse({
    type: ComplianceProfileResponse,
    description: 'The new version, in force from the next request.',
  })
  @ApiUnprocessableEntityResponse({ description: '`invalid_compliance_profile`' })
  @ApiConflictResponse({ description: OFFBOARDED })
  async replaceProfile(
    @Param('tenantId') tenantId: string,
    @Body() body: ComplianceProfileDto,
  ): Promise<ComplianceProfileResponse> {
    return profileResponse(
      await this.tenants.replaceComplianceProfile(
        asTenantId(tenantId),
        body,
        this.access.principal.actor,
      ),
    );
  }

  @Get(':tenantId/compliance-profile/versions')
  @CheckPolicies('read', 'ComplianceProfile')
  @ApiTenantIdParam()
  @ApiOkResponse({ type: ComplianceProfileVersionPage, description: 'Oldest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  async profileVersions(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<ComplianceProfileVersionPage> {
    const page = await this.tenants.profileVersions(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(profileVersionResponse), nextCursor: page.nextCursor };
  }
}
