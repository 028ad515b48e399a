import { IsInstant, Omittable } from '@app/core';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsObject, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import type { AuditReport } from '../audit-report.service';

export class AuditReportFiltersDto {
  @ApiPropertyOptional() @Omittable() @IsString() @MaxLength(200) actorId?: string;

  @ApiPropertyOptional({ example: 'contract' })
  @Omittable()
  @Matches(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/, {
    message: 'action must look like contract or contract.activate',
  })
  @MaxLength(200)
  action?: string;

  @ApiPropertyOptional()
  @Omittable()
  @Matches(/^[a-z][a-z0-9_]{0,63}$/, { message: 'resourceType must look like contract or api_key' })
  resourceType?: string;

  @ApiPropertyOptional() @Omittable() @IsString() @MaxLength(200) resourceId?: string;

  @ApiPropertyOptional({ enum: ['success', 'denied', 'failure'] })
  @Omittable()
  @IsIn(['success', 'denied', 'failure'])
  outcome?: 'success' | 'denied' | 'failure';
}

/** `POST /v1/tenants/{tenantId}/audit/reports`. */
export class CreateAuditReportDto {
  @ApiProperty({ example: '2027-01-01T00:00:00Z', description: 'Inclusive.' })
  @IsInstant()
  from!: Date;

  @ApiProperty({ example: '2027-04-01T00:00:00Z', description: 'Exclusive; after `from`.' })
  @IsInstant()
  to!: Date;

  @ApiProperty({ enum: ['jsonl', 'csv'] })
  @IsIn(['jsonl', 'csv'])
  format!: 'jsonl' | 'csv';

  @ApiPropertyOptional({ type: AuditReportFiltersDto })
  @Omittable()
  @IsObject()
  @ValidateNested()
  @Type(() => AuditReportFiltersDto)
  filters?: AuditReportFiltersDto;
}

export class AuditExportQueryDto extends AuditReportFiltersDto {
  @ApiPropertyOptional({ description: 'Inclusive.' }) @Omittable() @IsInstant() from?: Date;
  @ApiPropertyOptional({ description: 'Exclusive.' }) @Omittable() @IsInstant() to?: Date;

  @ApiPropertyOptional({ enum: ['jsonl', 'csv'], default: 'jsonl' })
  @Omittable()
  @IsIn(['jsonl', 'csv'])
  format: 'jsonl' | 'csv' = 'jsonl';
}

export class AuditReportResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ enum: ['jsonl', 'csv'] }) format!: string;
  @ApiProperty({ type: AuditReportFiltersDto }) filters!: AuditReportFiltersDto;
  @ApiProperty({ type: Number, nullable: true }) rowCount!: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'Hex SHA-256 of the file.' })
  sha256!: string | null;
  @ApiProperty({ type: Number, nullable: true }) firstSequence!: number | null;
  @ApiProperty({ type: Number, nullable: true }) lastSequence!: number | null;
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt!: string | null;

  static of(report: AuditReport): AuditReportResponse {
    return {
      id: report.id,
      tenantId: report.tenantId,
      status: report.status,
      from: report.from.toISOString(),
      to: report.to.toISOString(),
      format: report.format,
      filters: report.filters,
      rowCount: report.rowCount,
      sha256: report.sha256,
      firstSequence: report.firstSequence,
      lastSequence: report.lastSequence,
      error: report.error,
      createdAt: report.createdAt.toISOString(),
      completedAt: report.completedAt?.toISOString() ?? null,
    };
  }
}

export class AuditReportPage {
  @ApiProperty({ type: [AuditReportResponse] }) data!: AuditReportResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
