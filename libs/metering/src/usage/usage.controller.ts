import { asTenantId, CheckPolicies } from '@app/authz';
import { beyondSafeInteger, clampToSafeInteger, IsInstant, Omittable } from '@app/core';
import { QUOTA_METRICS, QuotaMetric } from '@app/tenancy';
import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn, IsTimeZone, MaxLength } from 'class-validator';
import {
  MAX_USAGE_QUERY_DAYS,
  USAGE_GROUPS,
  UsageGroup,
  UsageQueryService,
} from './usage-query.service';

/** Query of `GET /v1/tenants/{tenantId}/usage` (API.md, Contracts and quotas). */
export class UsageQueryDto {
  @ApiProperty({ example: '2027-01-01T00:00:00Z', description: 'Inclusive (RFC 3339).' })
  @IsInstant()
  from!: Date;

  @ApiProperty({
    example: '2027-02-01T00:00:00Z',
    description: `Exclusive; at most ${MAX_USAGE_QUERY_DAYS} days after from.`,
  })
  @IsInstant()
  to!: Date;

  @ApiPropertyOptional({ enum: QUOTA_METRICS, description: 'One metric; default every metric.' })
  @Omittable()
  @IsIn(QUOTA_METRICS)
  metric?: QuotaMetric;

  @ApiPropertyOptional({ enum: USAGE_GROUPS, description: 'Default: one total per metric.' })
  @Omittable()
  @IsIn(USAGE_GROUPS)
  groupBy?: UsageGroup;

  @ApiPropertyOptional({
    example: 'Europe/Berlin',
    description: "IANA zone of `day` groups; default the tenant's billing time zone.",
  })
  @Omittable()
  @IsTimeZone({ message: 'timeZone must be an IANA time zone such as Europe/Berlin' })
  @MaxLength(64)
  timeZone?: string;
}

class UsageRowResponse {
  @ApiProperty({ enum: QUOTA_METRICS }) metric!: string;
  @ApiPropertyOptional({ example: '2027-01-31', description: 'groupBy=day: the local date.' })
  day?: string;
  @ApiPropertyOptional({
    format: 'uuid',
    nullable: true,
    description: 'groupBy=endpoint; null for usage tied to no endpoint.',
  })
  endpointId?: string | null;
  @ApiPropertyOptional({
    format: 'uuid',
    nullable: true,
    description: 'groupBy=apiKey; null for usage tied to no API key.',
  })
  apiKeyId?: string | null;
  @ApiProperty({
    type: 'integer',
    maximum: Number.MAX_SAFE_INTEGER,
    description:
      "Sum in the metric's unit (tokens, requests, …); at most 2^53 − 1 (see overflow). Level metrics (dedicated_endpoints, concurrent_fine_tuning_jobs) sum +/− deltas, so their sum over a window may be negative.",
  })
  quantity!: number;
  @ApiProperty({ type: 'integer', description: 'Usage events summed.' }) events!: number;
  @ApiProperty({ description: 'true when the real sum exceeds 2^53 − 1 and quantity is capped.' })
  overflow!: boolean;
}

class UsageResponse {
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiPropertyOptional({ enum: USAGE_GROUPS }) groupBy?: string;
  @ApiProperty({ example: 'UTC', description: 'Zone of `day` groups.' }) timeZone!: string;
  @ApiProperty({ type: [UsageRowResponse] }) data!: UsageRowResponse[];
}

/**
 * Usage queries. Whoever may read a tenant's quota status may read its usage (the tenant's
 * members, its account managers, operator compliance officers): same `QuotaStatus` policy.
 */
@ApiTags('usage')
@ApiParam({ name: 'tenantId', format: 'uuid' })
@Controller('v1/tenants/:tenantId/usage')
export class UsageController {
  constructor(private readonly usage: UsageQueryService) {}

  @Get()
  @CheckPolicies('read', 'QuotaStatus')
  @ApiOkResponse({ type: UsageResponse, description: 'Rows sorted by metric, then group.' })
  @ApiNotFoundResponse({ description: 'No such tenant, or one the caller may not see.' })
  async query(
    @Param('tenantId') tenantId: string,
    @Query() query: UsageQueryDto,
  ): Promise<UsageResponse> {
    const { timeZone, rows } = await this.usage.query(asTenantId(tenantId), query);
    return {
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      ...(query.groupBy ? { groupBy: query.groupBy } : {}),
      timeZone,
      data: rows.map(({ quantity, events, ...row }) => ({
        ...row,
        quantity: clampToSafeInteger(quantity),
        events: Number(events),
        overflow: beyondSafeInteger(quantity),
      })),
    };
  }
}
