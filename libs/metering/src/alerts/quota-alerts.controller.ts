import { asTenantId, CheckPolicies } from '@app/authz';
import { PageQueryDto, RequestContext } from '@app/core';
import { QUOTA_ENFORCEMENTS, QUOTA_METRICS, QUOTA_PERIODS } from '@app/tenancy';
import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, Max, Min } from 'class-validator';
import { QuotaAlert } from './quota-alert.entity';
import { QuotaAlertsService } from './quota-alerts.service';

/** `PUT /v1/tenants/{tenantId}/quota-alerts/settings`. */
export class QuotaAlertSettingsDto {
  @ApiProperty({
    example: [50, 80, 100],
    description:
      "Percent of each quota line's limit at which an alert is sent, once per line and period; 1-10 whole numbers from 1 to 1000 (soft lines can pass 100 %). Duplicates are dropped.",
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(1000, { each: true })
  thresholds!: number[];
}

class QuotaAlertSettingsResponse {
  @ApiProperty({ example: [80, 100] }) thresholds!: number[];
  @ApiProperty({ description: 'false while the defaults (80 %, 100 %) apply.' }) custom!: boolean;
}

class QuotaAlertResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) contractId!: string;
  @ApiProperty({ enum: QUOTA_METRICS }) metric!: string;
  @ApiProperty({ enum: QUOTA_PERIODS }) period!: string;
  @ApiProperty({ enum: QUOTA_ENFORCEMENTS }) enforcement!: string;
  @ApiProperty({ description: 'Percent of the limit reached.' }) threshold!: number;
  @ApiProperty({ type: 'integer' }) limit!: number;
  @ApiProperty({ type: 'integer', description: 'Usage when the alert was raised.' }) used!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time' }) periodEnd!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

class QuotaAlertPage {
  @ApiProperty({ type: [QuotaAlertResponse] }) data!: QuotaAlertResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

const toResponse = (alert: QuotaAlert): QuotaAlertResponse => ({
  id: alert.id,
  contractId: alert.contractId,
  metric: alert.metric,
  period: alert.period,
  enforcement: alert.enforcement,
  threshold: alert.threshold,
  limit: alert.quotaLimit,
  used: alert.used,
  periodStart: alert.periodStart.toISOString(),
  periodEnd: alert.periodEnd.toISOString(),
  createdAt: alert.createdAt.toISOString(),
});

/** Quota alert thresholds and the alerts sent (metering issue, "Alerts"). */
@ApiTags('usage')
@ApiParam({ name: 'tenantId', format: 'uuid' })
@ApiNotFoundResponse({ description: 'No such tenant, or one the caller may not see.' })
@Controller('v1/tenants/:tenantId/quota-alerts')
export class QuotaAlertsController {
  constructor(
    private readonly alerts: QuotaAlertsService,
    private readonly context: RequestContext,
  ) {}

  @Get()
  @CheckPolicies('read', 'QuotaAlertSettings')
  @ApiOkResponse({ type: QuotaAlertPage, description: 'Newest first.' })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<QuotaAlertPage> {
    const page = await this.alerts.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(toResponse), nextCursor: page.nextCursor };
  }

  @Get('settings')
  @CheckPolicies('read', 'QuotaAlertSettings')
  @ApiOkResponse({ type: QuotaAlertSettingsResponse })
  settings(@Param('tenantId') tenantId: string): Promise<QuotaAlertSettingsResponse> {
    return this.alerts.thresholds(asTenantId(tenantId));
  }

  @Put('settings')
  @CheckPolicies('update', 'QuotaAlertSettings')
  @ApiOkResponse({ type: QuotaAlertSettingsResponse })
  @ApiConflictResponse({ description: '`tenant_offboarded`: the tenant is read-only' })
  async update(
    @Param('tenantId') tenantId: string,
    @Body() body: QuotaAlertSettingsDto,
  ): Promise<QuotaAlertSettingsResponse> {
    const before = await this.alerts.thresholds(asTenantId(tenantId));
    this.context.recordBefore(before);
    const thresholds = await this.alerts.setThresholds(
      asTenantId(tenantId),
      body.thresholds,
      this.context.actor!,
    );
    return { thresholds, custom: true };
  }
}
