import { Omittable } from '@app/core';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, Matches } from 'class-validator';

/** `?month=YYYY-MM&format=json|csv` of the SLA report routes. */
export class SlaQueryDto {
  @ApiPropertyOptional({
    example: '2027-01',
    description:
      'Calendar month in the tenant billing time zone, YYYY-MM (1970 or later, not after the current month). Default: the current month (live figures).',
  })
  @Omittable()
  @IsString()
  @Matches(/^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$/, {
    message: 'month must be a calendar month YYYY-MM, 1970-01 or later',
  })
  month?: string;

  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' })
  @Omittable()
  @IsIn(['json', 'csv'], { message: 'format must be json or csv' })
  format?: 'json' | 'csv';
}

/** `?month=YYYY-MM` (required) of the manifest route. */
export class SlaManifestQueryDto {
  @ApiPropertyOptional({ example: '2027-01', description: 'A frozen month, YYYY-MM.' })
  @IsString({ message: 'month is required (YYYY-MM)' })
  @Matches(/^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$/, {
    message: 'month must be a calendar month YYYY-MM, 1970-01 or later',
  })
  month!: string;
}
