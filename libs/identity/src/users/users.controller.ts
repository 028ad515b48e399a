import { asTenantId, CheckPolicies, PLATFORM_TENANT_ID } from '@app/authz';
import { PageQueryDto } from '@app/core';
import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CreateStaffUserDto, UserResponse } from './dto/create-user.dto';
import type { User } from './user.entity';
import { UserService } from './user.service';

const toResponse = (user: User & { roles: string[] }): UserResponse => ({
  id: user.id,
  tenantId: user.tenantId,
  email: user.email,
  displayName: user.displayName,
  status: user.status,
  roles: user.roles,
  createdAt: user.createdAt.toISOString(),
});

/** Operator staff (platform admins, account managers, compliance officers). */
@ApiTags('users')
@Controller('v1/platform/users')
export class PlatformUsersController {
  constructor(private readonly users: UserService) {}

  @Post()
  @CheckPolicies('create', 'User', { scope: 'operator' })
  @ApiCreatedResponse({ type: UserResponse })
  async create(@Body() body: CreateStaffUserDto): Promise<UserResponse> {
    return toResponse(await this.users.create(asTenantId(PLATFORM_TENANT_ID), body));
  }

  @Get()
  @CheckPolicies('read', 'User', { scope: 'operator' })
  @ApiOkResponse({ type: [UserResponse], description: '`{data, nextCursor}`, oldest first.' })
  async list(
    @Query() query: PageQueryDto,
  ): Promise<{ data: UserResponse[]; nextCursor: string | null }> {
    const page = await this.users.list(asTenantId(PLATFORM_TENANT_ID), query.limit, query.after);
    return { data: page.data.map(toResponse), nextCursor: page.nextCursor };
  }
}
