import { asTenantId, CheckPolicies } from '@app/authz';
import { toSafeInteger } from '@app/core';
import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { QUOTA_ENFORCEMENTS, QUOTA_METRICS, QUOTA_PERIODS } from '../contracts/contract-terms';
import { QuotaStatusService } from './quota-status.service';

class QuotaLineStatusResponse {
  @ApiProperty({ enum: QUOTA_METRICS }) metric!: string;
  @ApiProperty({ enum: QUOTA_PERIODS }) period!: string;
  @ApiProperty({ enum: QUOTA_ENFORCEMENTS }) enforcement!: string;
  @ApiProperty({ description: "In the metric's unit." }) limit!: number;
  @ApiProperty() used!: number;
  @ApiProperty({ description: 'limit − used, at least 0.' }) remaining!: number;
  @ApiProperty({ example: 42.5, description: 'used ÷ limit × 100, two decimals.' })
  percent!: number;
  @ApiProperty({ description: 'Usage over the limit (soft lines).' }) overage!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time', description: 'Exclusive.' }) periodEnd!: string;
}

class QuotaContractRef {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() contractNumber!: string;
  @ApiProperty() version!: number;
}

class QuotaStatusResponse {
  @ApiProperty({ format: 'date-time' }) asOf!: string;
  @ApiProperty({ type: QuotaContractRef, nullable: true }) contract!: QuotaContractRef | null;
  @ApiProperty({ type: [QuotaLineStatusResponse] }) data!: QuotaLineStatusResponse[];
}

@ApiTags('contracts')
@Controller('v1/tenants/:tenantId/quotas')
export class QuotasController {
  constructor(private readonly quotas: QuotaStatusService) {}

  @Get()
  @CheckPolicies('read', 'QuotaStatus')
  @ApiOkResponse({
    type: QuotaStatusResponse,
    description: 'Each line of the contract in force now; empty when none is.',
  })
  async status(@Param('tenantId') tenantId: string): Promise<QuotaStatusResponse> {
    const status = await this.quotas.status(asTenantId(tenantId));
    return {
      asOf: status.at.toISOString(),
      contract: status.contract,
      data: status.lines.map((line) => ({
        metric: line.metric,
        period: line.period,
        enforcement: line.enforcement,
        limit: line.limit,
        used: toSafeInteger(line.used),
        remaining: toSafeInteger(line.remaining),
        percent: line.percent,
        overage: toSafeInteger(line.overage),
        periodStart: line.periodStart.toISOString(),
        periodEnd: line.periodEnd.toISOString(),
      })),
    };
  }
}
