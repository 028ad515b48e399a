import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { PageQueryDto } from '@app/core';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AccountManagerService } from './account-manager.service';
import {
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
@Controller('v1/tenants/:tenantId/account-managers')
export class AccountManagersController {
  constructor(
    private readonly assignments: AccountManagerService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @CheckPolicies('create', 'AccountManagerAssignment')
  @ApiCreatedResponse({ type: AccountManagerAssignmentResponse })
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
  @ApiOkResponse({
    type: [AccountManagerAssignmentResponse],
    description: '`{data, nextCursor}`, oldest first.',
  })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<{ data: AccountManagerAssignmentResponse[]; nextCursor: string | null }> {
    const page = await this.assignments.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(toResponse), nextCursor: page.nextCursor };
  }

  @Delete(':userId')
  @HttpCode(204)
  @CheckPolicies('delete', 'AccountManagerAssignment')
  @ApiNoContentResponse({ description: 'The account manager no longer reaches the tenant.' })
  @ApiNotFoundResponse({ description: 'Not assigned.' })
  async unassign(
    @Param('tenantId') tenantId: string,
    @Param('userId', new ParseUUIDPipe()) userId: string,
  ): Promise<void> {
    await this.assignments.unassign(asTenantId(tenantId), userId);
  }
}
