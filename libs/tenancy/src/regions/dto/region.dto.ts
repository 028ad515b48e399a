import { Omittable } from '@app/core';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';
import { Certification, CERTIFICATIONS } from '../../compliance/compliance-profile';
import type { Region } from '../region.entity';

export const REGION_CODE = /^[a-z]{2,12}(-[a-z0-9]{1,16}){1,3}$/;

/** `{"h100": 64}`: GPU type names to non-negative counts (at most 20 types). */
function IsGpuCapacity(): PropertyDecorator {
  return ValidateBy({
    name: 'isGpuCapacity',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.keys(value).length <= 20 &&
        Object.entries(value).every(
          ([type, count]) =>
            /^[a-z0-9][a-z0-9_-]{0,31}$/.test(type) &&
            Number.isSafeInteger(count) &&
            (count as number) >= 0 &&
            (count as number) <= 1_000_000,
        ),
      defaultMessage: () =>
        'gpuCapacity must map GPU types (lowercase, e.g. "h100") to whole counts from 0 to 1,000,000',
    },
  });
}

/** `POST /v1/regions` (platform admin). */
export class CreateRegionDto {
  @ApiProperty({ example: 'eu-west-1' })
  @IsString()
  @Matches(REGION_CODE, { message: 'code must look like "eu-west-1": lowercase words and hyphens' })
  code!: string;

  @ApiProperty({ example: 'EU West (Ireland)' })
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name!: string;

  @ApiProperty({ example: 'eu' })
  @IsString()
  @Matches(/^[a-z]{2,16}$/, { message: 'dataZone must be 2-16 lowercase letters, e.g. "eu"' })
  dataZone!: string;

  @ApiProperty({ enum: CERTIFICATIONS, isArray: true })
  @IsArray()
  @ArrayUnique()
  @IsIn([...CERTIFICATIONS], { each: true })
  certifications!: Certification[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    example: { h100: 64 },
    default: {},
    description: 'GPU type (lowercase, e.g. `h100`) → whole count; at most 20 types.',
  })
  @Omittable()
  @IsObject()
  @IsGpuCapacity()
  gpuCapacity: Record<string, number> = {};
}

/** `PATCH /v1/regions/{code}`: a region's data zone never changes (profiles rely on it). */
export class UpdateRegionDto {
  @ApiPropertyOptional()
  @Omittable()
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name?: string;

  @ApiPropertyOptional({
    enum: CERTIFICATIONS,
    isArray: true,
    description:
      'Replaces the list. Removing one that a tenant allowing this region (or its zone) requires is 409 `region_in_use`.',
  })
  @Omittable()
  @IsArray()
  @ArrayUnique()
  @IsIn([...CERTIFICATIONS], { each: true })
  certifications?: Certification[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    example: { h100: 64 },
    description: 'Replaces the whole map.',
  })
  @Omittable()
  @IsObject()
  @IsGpuCapacity()
  gpuCapacity?: Record<string, number>;
}

export class RegionQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 100 })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 100;

  @ApiPropertyOptional({ description: 'The last region code of the previous page (`nextCursor`).' })
  @Omittable()
  @IsString()
  @MaxLength(64)
  @Matches(REGION_CODE, { message: 'after must be a cursor returned as nextCursor' })
  after?: string;

  @ApiPropertyOptional({ example: 'eu' })
  @Omittable()
  @Matches(/^[a-z]{2,16}$/, { message: 'dataZone must be 2-16 lowercase letters' })
  dataZone?: string;

  @ApiPropertyOptional({ enum: CERTIFICATIONS })
  @Omittable()
  @IsIn([...CERTIFICATIONS])
  certification?: Certification;
}

export class RegionResponse {
  @ApiProperty({ example: 'eu-west-1' }) code!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ example: 'eu' }) dataZone!: string;
  @ApiProperty({ enum: CERTIFICATIONS, isArray: true }) certifications!: string[];
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer', minimum: 0 },
    example: { h100: 64 },
  })
  gpuCapacity!: Record<string, number>;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static of(region: Region): RegionResponse {
    return {
      code: region.code,
      name: region.name,
      dataZone: region.dataZone,
      certifications: [...region.certifications].sort(),
      gpuCapacity: region.gpuCapacity,
      createdAt: region.createdAt.toISOString(),
      updatedAt: region.updatedAt.toISOString(),
    };
  }
}

export class RegionPage {
  @ApiProperty({ type: [RegionResponse] }) data!: RegionResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
