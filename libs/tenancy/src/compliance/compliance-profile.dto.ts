import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import {
  Certification,
  CERTIFICATIONS,
  DATA_CLASSIFICATIONS,
  DataClassification,
  MAX_AUDIT_RETENTION_DAYS,
} from './compliance-profile';

/**
 * A compliance profile as sent (`PUT /v1/tenants/{tenantId}/compliance-profile`, and
 * `complianceProfile` of `POST /v1/tenants`). Every field is required: a PUT replaces the whole
 * profile. Catalog rules (known regions, certifications held, retention minimums) are checked by
 * the service and reported as field errors too.
 */
export class ComplianceProfileDto {
  @ApiProperty({ type: [String], example: ['eu-west-1'], description: 'Region codes.' })
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  allowedRegions!: string[];

  @ApiProperty({ type: [String], example: ['eu'], description: 'Data zones, e.g. `eu`, `us`.' })
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  allowedDataZones!: string[];

  @ApiProperty({ type: [String], example: ['llama'], description: 'Model families.' })
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(100)
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/, {
    each: true,
    message:
      'each model family must be 1-64 lowercase letters, digits, dots, dashes or underscores',
  })
  allowedModelFamilies!: string[];

  @ApiProperty({ enum: DATA_CLASSIFICATIONS, example: 'confidential' })
  @IsIn([...DATA_CLASSIFICATIONS])
  dataClassification!: DataClassification;

  @ApiProperty({ enum: CERTIFICATIONS, isArray: true, example: ['gdpr'] })
  @IsArray()
  @ArrayUnique()
  @IsIn([...CERTIFICATIONS], { each: true })
  requiredCertifications!: Certification[];

  @ApiProperty({
    type: 'integer',
    example: 2555,
    minimum: 1,
    maximum: MAX_AUDIT_RETENTION_DAYS,
    description: 'Days; at least what the required certifications demand (HIPAA: 2,190).',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_AUDIT_RETENTION_DAYS)
  auditRetentionDays!: number;
}

export class ComplianceProfileResponse extends ComplianceProfileDto {
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'Increases by one with each change; version 1 is the first.',
  })
  version!: number;
}

export class ComplianceProfileVersionResponse extends ComplianceProfileResponse {
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, nullable: true, example: 'user:5f0c…' }) createdBy!: string | null;
}

export class ComplianceProfileVersionPage {
  @ApiProperty({ type: [ComplianceProfileVersionResponse] })
  data!: ComplianceProfileVersionResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
