import { Omittable } from '@app/core';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsString, IsTimeZone, Length, Matches, MaxLength, ValidateNested } from 'class-validator';
import { ComplianceProfileDto } from '../../compliance/compliance-profile.dto';

/** `POST /v1/tenants` (API.md, Tenants and access). */
export class CreateTenantDto {
  @ApiProperty({
    example: 'acme',
    description: 'Unique handle: 1-63 lowercase letters, digits, inner hyphens.',
  })
  @IsString()
  @Matches(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
    message:
      'slug must be 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen',
  })
  slug!: string;

  @ApiProperty({ example: 'Acme Corp' })
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name!: string;

  @ApiPropertyOptional({
    type: ComplianceProfileDto,
    description: 'Default: no region or model family permitted, confidential, 365 days retention.',
  })
  @Omittable()
  @ValidateNested()
  @Type(() => ComplianceProfileDto)
  complianceProfile?: ComplianceProfileDto;

  @ApiPropertyOptional({
    example: 'Europe/Berlin',
    default: 'UTC',
    description: 'IANA time zone that anchors contract periods (months and days).',
  })
  @Omittable()
  @IsString()
  @MaxLength(64)
  @IsTimeZone({ message: 'billingTimeZone must be an IANA time zone such as Europe/Berlin' })
  billingTimeZone?: string;
}

/** `POST /v1/tenants/{tenantId}/activate | suspend | offboard`. */
export class TenantTransitionDto {
  @ApiPropertyOptional({
    example: 'Unpaid invoice INV-2027-004',
    description: 'Why; required to suspend or offboard.',
  })
  @Omittable()
  @IsString()
  @Length(1, 500)
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason?: string;
}

/** Suspending or offboarding says why (kept with the status and in the audit log). */
export class TenantReasonDto {
  @ApiProperty({ example: 'Unpaid invoice INV-2027-004' })
  @IsString()
  @Length(1, 500)
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason!: string;
}
