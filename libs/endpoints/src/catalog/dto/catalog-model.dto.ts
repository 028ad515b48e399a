import { Omittable, PageQueryDto } from '@app/core';
import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { CatalogModel, Modality, MODALITIES } from '../catalog-model.entity';

export const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const FAMILY = /^[a-z0-9][a-z0-9-]{0,62}$/;
const GPU_TYPE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const REGION = /^[a-z]{2,12}(-[a-z0-9]{1,16}){1,3}$/;

/** `POST /v1/catalog/models` (platform admin): a base model. */
export class CreateCatalogModelDto {
  @ApiProperty({ example: 'llama-3-70b-local', pattern: MODEL_ID.source })
  @IsString()
  @Matches(MODEL_ID, {
    message: 'id must be lowercase letters, digits, ".", "_" or "-" (at most 100)',
  })
  id!: string;

  @ApiProperty({ example: 'llama' })
  @IsString()
  @Matches(FAMILY, { message: 'family must be lowercase letters, digits and "-"' })
  family!: string;

  @ApiProperty({ enum: MODALITIES })
  @IsIn([...MODALITIES])
  modality!: Modality;

  @ApiProperty({ description: 'Tokens.', minimum: 1, maximum: 10_000_000 })
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  contextLength!: number;

  @ApiProperty({ type: [String], example: ['eu-west-1'], description: 'Region codes.' })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(100)
  @ArrayUnique()
  @Matches(REGION, { each: true, message: 'each region must be a region code like "eu-west-1"' })
  regions!: string[];

  @ApiProperty({ example: 'h100', description: "A key of the regions' gpuCapacity." })
  @IsString()
  @Matches(GPU_TYPE, { message: 'gpuType must be lowercase letters, digits, "-" or "_"' })
  gpuType!: string;

  @ApiProperty({ minimum: 1, maximum: 64 })
  @IsInt()
  @Min(1)
  @Max(64)
  gpusPerReplica!: number;

  @ApiPropertyOptional({ default: false })
  @Omittable()
  @IsBoolean()
  fineTunable?: boolean;
}

/**
 * `PATCH /v1/catalog/models/{id}` (base models only): any field but `id` and `family` (a family
 * change would move running endpoints across compliance boundaries).
 */
export class UpdateCatalogModelDto extends PartialType(
  OmitType(CreateCatalogModelDto, ['id', 'family'] as const),
) {}

/** `GET /v1/catalog/models` filters. */
export class CatalogQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: MODALITIES })
  @Omittable()
  @IsIn([...MODALITIES])
  modality?: Modality;

  @ApiPropertyOptional({ example: 'llama' })
  @Omittable()
  @IsString()
  @Matches(FAMILY, { message: 'family must be lowercase letters, digits and "-"' })
  family?: string;

  @ApiPropertyOptional({ example: 'eu-west-1', description: 'Only models offered there.' })
  @Omittable()
  @IsString()
  @Matches(REGION, { message: 'region must be a region code like "eu-west-1"' })
  region?: string;

  @ApiPropertyOptional({ description: 'Only models that can (true) or cannot be fine-tuned.' })
  @Omittable()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  fineTunable?: boolean;
}

/** A catalog model (API.md `GET /v1/catalog/models`). */
export class CatalogModelResponse {
  @ApiProperty({ example: 'llama-3-8b-local' })
  id!: string;

  @ApiProperty({ example: 'model', description: 'OpenAI-style object type.' })
  object!: 'model';

  @ApiProperty({ example: 'llama' })
  family!: string;

  @ApiProperty({ enum: MODALITIES })
  modality!: Modality;

  @ApiProperty({ description: 'Tokens.' })
  contextLength!: number;

  @ApiProperty({ type: [String] })
  regions!: string[];

  @ApiProperty({ example: 'h100' })
  gpuType!: string;

  @ApiProperty()
  gpusPerReplica!: number;

  @ApiProperty()
  fineTunable!: boolean;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The owning tenant of a fine-tuned model; null for base models.',
  })
  tenantId!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'A fine-tuned model’s base.' })
  baseModelId!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  static of(model: CatalogModel): CatalogModelResponse {
    return {
      id: model.id,
      object: 'model',
      family: model.family,
      modality: model.modality,
      contextLength: model.contextLength,
      regions: model.regions,
      gpuType: model.gpuType,
      gpusPerReplica: model.gpusPerReplica,
      fineTunable: model.fineTunable,
      tenantId: model.tenantId,
      baseModelId: model.baseModelId,
      createdAt: model.createdAt.toISOString(),
    };
  }
}

export class CatalogModelPage {
  @ApiProperty({ type: [CatalogModelResponse] })
  data!: CatalogModelResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}
