import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { PageQueryDto, ResourceId } from '@app/core';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ApiIdParam, ApiTenantIdParam, NOT_FOUND_TENANT, OFFBOARDED } from '../openapi';
import { AccountManagerService } from './account-manager.service';
import {
  AccountManagerAssignmentPage,
  AccountManagerAssignmentResponse,
  AssignAccountManagerDto,
} from './dto/assign-account-manager.dto';
import type { AccountManagerAssignment } from './account-manager-assignment.entity';

const toResponse = (a: AccountManagerAssignment): AccountManagerAssignmentResponse => ({
  tenantId: a.tenantId,
  userId: a.userId,
  createdAt: a.createdAt.toISOString(),
});

@ApiTags('tenants')
@ApiTenantIdParam()
@Controller('v1/tenants/:tenantId/account-managers')
export class AccountManagersController {
  constructor(
    private readonly assignments: AccountManagerService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @CheckPolicies('create', 'AccountManagerAssignment')
  @ApiCreatedResponse({
    type: AccountManagerAssignmentResponse,
    description: 'Idempotent: assigning twice keeps one assignment.',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  @ApiConflictResponse({ description: OFFBOARDED })
  @ApiUnprocessableEntityResponse({
    description:
      '`not_an_account_manager`: the user is not active operator staff with the account_manager role',
  })
  async assign(
    @Param('tenantId') tenantId: string,
    @Body() body: AssignAccountManagerDto,
  ): Promise<AccountManagerAssignmentResponse> {
    return toResponse(
      await this.assignments.assign(asTenantId(tenantId), body.userId, this.access.principal.actor),
    );
  }

  @Get()
  @CheckPolicies('read', 'AccountManagerAssignment')
  @ApiOkResponse({ type: AccountManagerAssignmentPage, description: 'Oldest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<AccountManagerAssignmentPage> {
    const page = await this.assignments.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(toResponse), nextCursor: page.nextCursor };
  }

  @Delete(':userId')
  @HttpCode(204)
  @CheckPolicies('delete', 'AccountManagerAssignment')
  @ApiIdParam('userId', 'The assigned account manager (an operator staff user).')
  @ApiNoContentResponse({ description: 'The account manager no longer reaches the tenant.' })
  @ApiNotFoundResponse({
    description: `Not assigned (malformed user ids too). ${NOT_FOUND_TENANT}`,
  })
  @ApiConflictResponse({ description: OFFBOARDED })
  async unassign(
    @Param('tenantId') tenantId: string,
    @ResourceId('userId', 'assignment') userId: string,
  ): Promise<void> {
    await this.assignments.unassign(asTenantId(tenantId), userId);
  }
}
