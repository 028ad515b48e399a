import { beyondSafeInteger, clampToSafeInteger } from '@app/core';
import { asTenantId, CheckPolicies } from '@app/authz';
import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { QUOTA_ENFORCEMENTS, QUOTA_METRICS, QUOTA_PERIODS } from '../contracts/contract-terms';
import { ApiTenantIdParam, NOT_FOUND_TENANT } from '../openapi';
import { QuotaStatusService } from './quota-status.service';

class QuotaLineStatusResponse {
  @ApiProperty({ enum: QUOTA_METRICS }) metric!: string;
  @ApiProperty({ enum: QUOTA_PERIODS }) period!: string;
  @ApiProperty({ enum: QUOTA_ENFORCEMENTS }) enforcement!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    description: "In the metric's unit.",
  })
  limit!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'Usage in the period; at most 2^53 − 1 (see `overflow`).',
  })
  used!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'limit − used, at least 0.',
  })
  remaining!: number;
  @ApiProperty({
    example: 42.5,
    description: 'used ÷ limit × 100, rounded half up to two decimals (5 of 3 → 166.67).',
  })
  percent!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'Usage over the limit (soft lines); at most 2^53 − 1 (see `overflow`).',
  })
  overage!: number;
  @ApiProperty({
    description:
      'true when the real usage or overage exceeds 2^53 − 1 (Number.MAX_SAFE_INTEGER, the largest integer every JSON reader holds exactly): `used` and `overage` are then that value, not the real one. false otherwise.',
  })
  overflow!: boolean;
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
@ApiTenantIdParam()
@Controller('v1/tenants/:tenantId/quotas')
export class QuotasController {
  constructor(private readonly quotas: QuotaStatusService) {}

  @Get()
  @CheckPolicies('read', 'QuotaStatus')
  @ApiOkResponse({
    type: QuotaStatusResponse,
    description: 'Each line of the contract in force now; empty when none is.',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
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
        used: clampToSafeInteger(line.used),
        remaining: clampToSafeInteger(line.remaining),
        percent: line.percent,
        overage: clampToSafeInteger(line.overage),
        overflow: beyondSafeInteger(line.used) || beyondSafeInteger(line.overage),
        periodStart: line.periodStart.toISOString(),
        periodEnd: line.periodEnd.toISOString(),
      })),
    };
  }
}
