import { IsInstant, Omittable, PageQueryDto } from '@app/core';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, Matches, MaxLength } from 'class-validator';

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

/** Filters of `GET .../audit/events` (API.md, Audit). */
export class AuditEventQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: '2027-01-01T00:00:00Z', description: 'Inclusive.' })
  @Omittable()
  @IsInstant()
  from?: Date;

  @ApiPropertyOptional({ example: '2027-02-01T00:00:00Z', description: 'Exclusive.' })
  @Omittable()
  @IsInstant()
  to?: Date;

  @ApiPropertyOptional({ description: 'User id or API key id.' })
  @Omittable()
  @IsString()
  @MaxLength(200)
  actorId?: string;

  @ApiPropertyOptional({
    example: 'contract',
    description:
      'An action, or a prefix of whole segments (`contract` matches `contract.activate`).',
  })
  @Omittable()
  @Matches(ACTION, { message: 'action must look like contract or contract.activate' })
  @MaxLength(200)
  action?: string;

  @ApiPropertyOptional({ example: 'contract' })
  @Omittable()
  @Matches(/^[a-z][a-z0-9_]{0,63}$/, { message: 'resourceType must look like contract or api_key' })
  resourceType?: string;

  @ApiPropertyOptional()
  @Omittable()
  @IsString()
  @MaxLength(200)
  resourceId?: string;

  @ApiPropertyOptional({ enum: ['success', 'denied', 'failure'] })
  @Omittable()
  @IsIn(['success', 'denied', 'failure'])
  outcome?: 'success' | 'denied' | 'failure';

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @Omittable()
  @IsIn(['asc', 'desc'])
  order: 'asc' | 'desc' = 'desc';
}

export class PlatformAuditEventQueryDto extends AuditEventQueryDto {
  @ApiPropertyOptional({ description: 'One tenant id, or `platform` for the operator chain.' })
  @Omittable()
  @Matches(/^(platform|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i, {
    message: 'tenantId must be a tenant id or platform',
  })
  tenantId?: string;
}

export class VerifyQueryDto {
  @ApiPropertyOptional({ description: 'Inclusive; default the start of the chain.' })
  @Omittable()
  @IsInstant()
  from?: Date;

  @ApiPropertyOptional({ description: 'Exclusive; default now (the chain head is checked too).' })
  @Omittable()
  @IsInstant()
  to?: Date;
}

class AuditActorResponse {
  @ApiProperty({ enum: ['user', 'api_key', 'system', 'anonymous'] }) type!: string;
  @ApiProperty({ type: String, nullable: true }) id!: string | null;
  @ApiProperty({ type: String, nullable: true }) email!: string | null;
  @ApiProperty({ type: String, nullable: true }) keyPrefix!: string | null;
  @ApiProperty({ type: String, nullable: true }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent!: string | null;
}

class AuditResourceResponse {
  @ApiProperty({ type: String, nullable: true, example: 'contract' }) type!: string | null;
  @ApiProperty({ type: String, nullable: true }) id!: string | null;
}

export class AuditEventResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'null: platform chain',
  })
  tenantId!: string | null;
  @ApiProperty({ description: 'Gapless per chain, from 1.' }) sequence!: number;
  @ApiProperty({ example: '2027-01-01T00:00:00.123456Z', description: 'UTC, microseconds.' })
  occurredAt!: string;
  @ApiProperty({ type: AuditActorResponse }) actor!: AuditActorResponse;
  @ApiProperty({ example: 'contract.activate' }) action!: string;
  @ApiProperty({ type: AuditResourceResponse }) resource!: AuditResourceResponse;
  @ApiProperty({ enum: ['success', 'denied', 'failure'] }) outcome!: string;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({ type: String, nullable: true }) requestId!: string | null;
  @ApiProperty({ type: String, nullable: true }) traceId!: string | null;
  @ApiProperty({
    type: Object,
    nullable: true,
    description: '`{before?, after?}`, secrets redacted.',
  })
  changes!: { before?: unknown; after?: unknown } | null;
  @ApiProperty({ description: 'Hex SHA-256 of the previous event (zeros at genesis).' })
  prevHash!: string;
  @ApiProperty({ description: 'Hex SHA-256(prevHash ‖ RFC 8785 JSON of the event).' })
  hash!: string;
}

export class AuditEventPage {
  @ApiProperty({ type: [AuditEventResponse] }) data!: AuditEventResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class VerificationResponse {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ description: 'Events that verified.' }) checked!: number;
  @ApiPropertyOptional() firstBadSequence?: number;
  @ApiPropertyOptional({
    enum: [
      'hash_mismatch',
      'broken_link',
      'gap',
      'reordered',
      'truncated',
      'bad_start',
      'beyond_head',
      'head_missing',
      'bad_checkpoint',
    ],
  })
  reason?: string;
  @ApiPropertyOptional() detail?: string;
  @ApiPropertyOptional({ type: Number, nullable: true }) lastSequence?: number | null;
  @ApiPropertyOptional({ type: String, nullable: true }) lastHash?: string | null;
}
