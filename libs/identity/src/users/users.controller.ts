import {
  asTenantId,
  CheckPolicies,
  CurrentAccess,
  OperatorTenantInPath,
  PLATFORM_TENANT_ID,
} from '@app/authz';
import { EmptyBody, PageQueryDto, ResourceId } from '@app/core';
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CreateStaffUserDto } from './dto/create-user.dto';
import { UserPage, UserResponse, userResponse } from './dto/user.response';
import { UserService } from './user.service';

/** Operator staff (platform admins, account managers, compliance officers). */
@ApiTags('users')
@Controller('v1/platform/users')
export class PlatformUsersController {
  constructor(private readonly users: UserService) {}

  @Post()
  @CheckPolicies('create', 'User', { scope: 'operator' })
  @ApiCreatedResponse({ type: UserResponse })
  async create(@Body() body: CreateStaffUserDto): Promise<UserResponse> {
    return userResponse(await this.users.create(asTenantId(PLATFORM_TENANT_ID), body));
  }

  @Get()
  @CheckPolicies('read', 'User', { scope: 'operator' })
  @ApiOkResponse({ type: UserPage, description: 'Oldest first.' })
  async list(@Query() query: PageQueryDto): Promise<UserPage> {
    const page = await this.users.list(asTenantId(PLATFORM_TENANT_ID), query.limit, query.after);
    return { data: page.data.map(userResponse), nextCursor: page.nextCursor };
  }
}

/** `:id`: a user's UUID; anything else names no user (404, like another tenant's). */
const UserId = () => ResourceId('id', 'user');
const NOT_FOUND =
  'No such tenant or user, or one the caller may not see (malformed ids and other tenants’ users too).';
const OFFBOARDED = '`tenant_offboarded`: the tenant is read-only';

/**
 * The people of a tenant (they arrive through SSO, just in time). Tenant admins list them and
 * disable or enable them; the tenant's compliance officers and its assigned account managers
 * read them; platform admins do everything. Roles are the identity provider's (group-to-role
 * rules, applied at each SSO sign-in), so they are shown, not edited. With the platform
 * tenant's id, platform admins list and disable the operator's own staff (operator SSO).
 */
@ApiTags('users')
@ApiParam({
  name: 'tenantId',
  format: 'uuid',
  description: 'A customer tenant, or the platform tenant for operator staff.',
})
@OperatorTenantInPath()
@ApiNotFoundResponse({ description: NOT_FOUND })
@Controller('v1/tenants/:tenantId/users')
export class TenantUsersController {
  constructor(
    private readonly users: UserService,
    private readonly access: CurrentAccess,
  ) {}

  @Get()
  @CheckPolicies('read', 'User')
  @ApiOkResponse({ type: UserPage, description: 'Oldest first.' })
  @ApiBadRequestResponse({ description: '`validation_failed`: `limit` out of 1-100, bad `after`' })
  async list(@Param('tenantId') tenantId: string, @Query() query: PageQueryDto): Promise<UserPage> {
    const page = await this.users.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(userResponse), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @CheckPolicies('read', 'User')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The user.' })
  @ApiOkResponse({ type: UserResponse })
  async get(@Param('tenantId') tenantId: string, @UserId() id: string): Promise<UserResponse> {
    return userResponse(await this.users.get(asTenantId(tenantId), id));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @CheckPolicies('disable', 'User')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The user.' })
  @ApiOkResponse({
    type: UserResponse,
    description:
      '`disabled`: every session of the user ended, SSO sign-ins refused until enabled. Idempotent.',
  })
  @ApiBadRequestResponse({ description: '`validation_failed`: the action takes no body fields' })
  @ApiConflictResponse({
    description: `\`cannot_disable_self\`: the caller is this user; ${OFFBOARDED}`,
  })
  async disable(
    @Param('tenantId') tenantId: string,
    @UserId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<UserResponse> {
    return userResponse(
      await this.users.disable(asTenantId(tenantId), id, this.access.principal.actor),
    );
  }

  @Post(':id/enable')
  @HttpCode(200)
  @CheckPolicies('enable', 'User')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The user.' })
  @ApiOkResponse({
    type: UserResponse,
    description: '`active`: may sign in again through SSO. Idempotent.',
  })
  @ApiBadRequestResponse({ description: '`validation_failed`: the action takes no body fields' })
  @ApiConflictResponse({ description: OFFBOARDED })
  async enable(
    @Param('tenantId') tenantId: string,
    @UserId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<UserResponse> {
    return userResponse(await this.users.enable(asTenantId(tenantId), id));
  }
}
