import { IsInstant, Omittable } from '@app/core';
import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmpty,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { PageQueryDto } from '@app/core';
import {
  BILLING_MODELS,
  BillingModel,
  CURRENCIES,
  QUOTA_ENFORCEMENTS,
  QUOTA_METRICS,
  QUOTA_PERIODS,
  QuotaEnforcement,
  QuotaMetric,
} from '../contract-terms';
import { CONTRACT_STATUSES, ContractStatus } from '../contract-lifecycle';
import type { QuotaPeriodKind } from '../periods';

const SAFE = Number.MAX_SAFE_INTEGER;

export class CreditTierDto {
  @ApiProperty({
    example: 99.9,
    minimum: 0,
    maximum: 100,
    description: 'Monthly availability percent below which it applies; up to 3 decimals.',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 3 })
  @Min(0)
  @Max(100)
  below!: number;

  @ApiProperty({
    type: 'integer',
    example: 10,
    minimum: 1,
    maximum: 100,
    description: "Percent of the month's committed fee.",
  })
  @IsInt()
  @Min(1)
  @Max(100)
  creditPercent!: number;
}

export class SlaTermsDto {
  @ApiProperty({
    example: 99.9,
    minimum: 90,
    maximum: 100,
    description: 'Percent of good minutes per calendar month; up to 3 decimals.',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 3 })
  @Min(90)
  @Max(100)
  availabilityTarget!: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 800,
    minimum: 1,
    maximum: 600_000,
    description: 'p95 total latency target, milliseconds.',
  })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(600_000)
  latencyP95Ms?: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 300,
    minimum: 1,
    maximum: 600_000,
    description: 'p95 time to first byte, milliseconds.',
  })
  @Omittable()
  @IsInt()
  @Min(1)
  @Max(600_000)
  ttfbP95Ms?: number;

  @ApiPropertyOptional({ enum: ['calendar_month'], default: 'calendar_month' })
  @Omittable()
  @IsIn(['calendar_month'])
  measurementWindow = 'calendar_month' as const;

  @ApiPropertyOptional({ type: [CreditTierDto], default: [], maxItems: 10 })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => CreditTierDto)
  creditTiers: CreditTierDto[] = [];
}

export class QuotaLineDto {
  @ApiProperty({ enum: QUOTA_METRICS, example: 'total_tokens' })
  @IsIn([...QUOTA_METRICS])
  metric!: QuotaMetric;

  @ApiProperty({
    type: 'integer',
    example: 500000000,
    minimum: 1,
    maximum: SAFE,
    description: 'Whole units of the metric (tokens, requests, …).',
  })
  @IsInt()
  @Min(1)
  @Max(SAFE)
  limit!: number;

  @ApiProperty({ enum: QUOTA_PERIODS, example: 'month' })
  @IsIn([...QUOTA_PERIODS])
  period!: QuotaPeriodKind;

  @ApiProperty({ enum: QUOTA_ENFORCEMENTS, example: 'hard' })
  @IsIn([...QUOTA_ENFORCEMENTS])
  enforcement!: QuotaEnforcement;

  @ApiPropertyOptional({
    type: 'integer',
    example: 250,
    minimum: 0,
    maximum: SAFE,
    description: 'Minor units per unit over the limit.',
  })
  @Omittable()
  @IsInt()
  @Min(0)
  @Max(SAFE)
  overageUnitPriceMinor?: number;
}

/** The commercial terms that amendments may change. */
export class AmendableTermsDto {
  @ApiPropertyOptional({
    type: 'integer',
    example: 120000000,
    minimum: 0,
    maximum: SAFE,
    description: 'Minor units of the currency.',
  })
  @Omittable()
  @IsInt()
  @Min(0)
  @Max(SAFE)
  committedSpendMinor?: number;

  @ApiPropertyOptional({ enum: BILLING_MODELS })
  @Omittable()
  @IsIn([...BILLING_MODELS])
  billingModel?: BillingModel;

  @ApiPropertyOptional({ type: SlaTermsDto })
  @Omittable()
  @IsObject()
  @ValidateNested()
  @Type(() => SlaTermsDto)
  sla?: SlaTermsDto;

  @ApiPropertyOptional({
    type: [QuotaLineDto],
    maxItems: 50,
    description: 'Replaces every line when given.',
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => QuotaLineDto)
  quotaLines?: QuotaLineDto[];
}

/** `POST /v1/tenants/{tenantId}/contracts`: a draft; anything but the number and start may wait. */
export class CreateContractDto extends AmendableTermsDto {
  @ApiProperty({ example: 'ACME-2027', description: 'Unique within the tenant.' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/, {
    message: 'contractNumber must be 1-64 letters, digits, dots, slashes, dashes or underscores',
  })
  contractNumber!: string;

  @ApiProperty({
    example: '2027-01-01T00:00:00Z',
    format: 'date-time',
    description: 'The anchor of every period. From 1970 through 9999.',
  })
  @IsInstant()
  termStart!: Date;

  @ApiPropertyOptional({
    example: '2028-01-01T00:00:00Z',
    format: 'date-time',
    description:
      'Exclusive. Default: one year after termStart in the billing time zone. At most ten years after termStart, and by 9999-12-31T23:59:59.999Z.',
  })
  @Omittable()
  @IsInstant()
  termEnd?: Date;

  @ApiPropertyOptional({ example: 'USD', description: 'ISO 4217.' })
  @Omittable()
  @IsIn(CURRENCIES, { message: 'currency must be an ISO 4217 code such as USD or EUR' })
  currency?: string;
}

/** `PATCH /v1/tenants/{tenantId}/contracts/{id}`: drafts only. */
export class UpdateContractDto extends PartialType(CreateContractDto) {}

const NOT_AMENDABLE = (field: string) =>
  `${field} cannot be amended: terminate and draft a new contract, or renew`;

/** `changes` of an amendment: the commercial terms; the identity and term stay. */
export class AmendmentChangesDto extends AmendableTermsDto {
  @IsEmpty({ message: NOT_AMENDABLE('currency') }) currency?: never;
  @IsEmpty({ message: NOT_AMENDABLE('termStart') }) termStart?: never;
  @IsEmpty({ message: NOT_AMENDABLE('termEnd') }) termEnd?: never;
  @IsEmpty({ message: NOT_AMENDABLE('contractNumber') }) contractNumber?: never;
}

/** `POST /v1/tenants/{tenantId}/contracts/{id}/amendments`. */
export class CreateAmendmentDto {
  @ApiPropertyOptional({
    example: '2027-07-01T00:00:00Z',
    format: 'date-time',
    description:
      'When the new version takes effect: within the term, not in the past, after the latest version. Default now (409 `amendment_conflict` when the latest version takes effect at or after now).',
  })
  @Omittable()
  @IsInstant()
  effectiveFrom?: Date;

  @ApiPropertyOptional({ example: 'Q3 expansion: +50% tokens' })
  @Omittable()
  @IsString()
  @Length(1, 500)
  reason?: string;

  @ApiProperty({ type: AmendmentChangesDto })
  @IsObject()
  @ValidateNested()
  @Type(() => AmendmentChangesDto)
  changes!: AmendmentChangesDto;
}

export class TerminateContractDto {
  @ApiProperty({ example: 'Customer exercised early termination, clause 14.2' })
  @IsString()
  @Length(1, 500)
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason!: string;
}

export class RenewContractDto {
  @ApiPropertyOptional({
    example: 'ACME-2028',
    description:
      'Default: the number with -R1 appended (or its -R<n> suffix increased), skipping numbers the tenant already uses.',
  })
  @Omittable()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/, {
    message: 'contractNumber must be 1-64 letters, digits, dots, slashes, dashes or underscores',
  })
  contractNumber?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'Default: as long as the renewed term in calendar terms (whole months, else whole local days, in the billing time zone), counted from the renewal start.',
  })
  @Omittable()
  @IsInstant()
  termEnd?: Date;
}

export class AsOfQueryDto {
  @ApiPropertyOptional({
    example: '2027-06-15T00:00:00Z',
    description: 'Show the terms in force at this instant.',
  })
  @Omittable()
  @IsInstant()
  asOf?: Date;
}

export class ContractListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only contracts in force at this instant.' })
  @Omittable()
  @IsInstant()
  asOf?: Date;

  @ApiPropertyOptional({ enum: CONTRACT_STATUSES })
  @Omittable()
  @IsIn([...CONTRACT_STATUSES])
  status?: ContractStatus;
}
