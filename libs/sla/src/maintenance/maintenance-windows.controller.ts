import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { PageQueryDto, ResourceId } from '@app/core';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
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
import {
  CreateMaintenanceWindowDto,
  MaintenanceWindowPage,
  MaintenanceWindowResponse,
} from './dto/maintenance-window.dto';
import { MaintenanceWindow } from './maintenance-window.entity';
import { MaintenanceWindowService } from './maintenance-window.service';

const view = (w: MaintenanceWindow): MaintenanceWindowResponse => ({
  id: w.id,
  startsAt: w.startsAt.toISOString(),
  endsAt: w.endsAt.toISOString(),
  reason: w.reason,
  createdAt: w.createdAt.toISOString(),
  createdBy: w.createdBy,
});

/**
 * Maintenance windows of a tenant's endpoints (API.md, SLA): declared in advance by platform
 * admins and assigned account managers, excluded from availability; read by whoever reads the
 * tenant's SLA (`MaintenanceWindow`).
 */
@ApiTags('sla')
@ApiParam({ name: 'tenantId', format: 'uuid', description: 'A customer tenant.' })
@ApiNotFoundResponse({ description: 'No such tenant or window, or one the caller may not see.' })
@Controller('v1/tenants/:tenantId/maintenance-windows')
export class MaintenanceWindowsController {
  constructor(
    private readonly windows: MaintenanceWindowService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @CheckPolicies('create', 'MaintenanceWindow')
  @ApiCreatedResponse({ type: MaintenanceWindowResponse })
  @ApiBadRequestResponse({
    description:
      '`validation_failed`: startsAt not in the future, endsAt not after it, over 7 days',
  })
  @ApiConflictResponse({ description: '`tenant_offboarded`: the tenant is read-only' })
  async create(
    @Param('tenantId') tenantId: string,
    @Body() body: CreateMaintenanceWindowDto,
  ): Promise<MaintenanceWindowResponse> {
    return view(
      await this.windows.declare(asTenantId(tenantId), body, this.access.principal.actor),
    );
  }

  @Get()
  @CheckPolicies('read', 'MaintenanceWindow')
  @ApiOkResponse({ type: MaintenanceWindowPage, description: 'Newest first.' })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<MaintenanceWindowPage> {
    const page = await this.windows.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(view), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @CheckPolicies('read', 'MaintenanceWindow')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The window.' })
  @ApiOkResponse({ type: MaintenanceWindowResponse })
  async get(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'maintenance window') id: string,
  ): Promise<MaintenanceWindowResponse> {
    return view(await this.windows.get(asTenantId(tenantId), id));
  }

  @Delete(':id')
  @HttpCode(204)
  @CheckPolicies('delete', 'MaintenanceWindow')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The window.' })
  @ApiNoContentResponse({ description: 'Withdrawn.' })
  @ApiConflictResponse({
    description: '`maintenance_window_started`; `tenant_offboarded`: the tenant is read-only',
  })
  async withdraw(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'maintenance window') id: string,
  ): Promise<void> {
    await this.windows.withdraw(asTenantId(tenantId), id);
  }
}
