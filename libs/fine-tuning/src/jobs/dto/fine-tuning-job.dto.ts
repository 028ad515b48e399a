import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { OpenAiListQueryDto } from '../../openai-list-query.dto';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';

/** `auto`, or a number in [min, max] (an integer when `integer`). */
function IsAutoOr(
  {
    min,
    max,
    integer,
    exclusiveMin,
  }: { min: number; max: number; integer: boolean; exclusiveMin?: boolean },
  options?: ValidationOptions,
) {
  const range = `${exclusiveMin ? `> ${min}` : `≥ ${min}`} and ≤ ${max}`;
  return ValidateBy(
    {
      name: 'isAutoOr',
      validator: {
        validate: (value: unknown) =>
          value === 'auto' ||
          (typeof value === 'number' &&
            Number.isFinite(value) &&
            (!integer || Number.isInteger(value)) &&
            (exclusiveMin ? value > min : value >= min) &&
            value <= max),
        defaultMessage: (args) =>
          `${args?.property} must be "auto" or ${integer ? 'an integer' : 'a number'} ${range}`,
      },
    },
    options,
  );
}

/** Hyperparameters (OpenAI fine-tuning API); each `auto` or a value in range. */
export class HyperparametersDto {
  @ApiPropertyOptional({
    oneOf: [{ enum: ['auto'] }, { type: 'integer', minimum: 1, maximum: 50 }],
  })
  @IsOptional()
  @IsAutoOr({ min: 1, max: 50, integer: true })
  n_epochs?: number | 'auto';

  @ApiPropertyOptional({
    oneOf: [{ enum: ['auto'] }, { type: 'integer', minimum: 1, maximum: 256 }],
  })
  @IsOptional()
  @IsAutoOr({ min: 1, max: 256, integer: true })
  batch_size?: number | 'auto';

  @ApiPropertyOptional({
    oneOf: [{ enum: ['auto'] }, { type: 'number', minimum: 0, maximum: 50 }],
    description:
      'Above 0: weight of one occurrence in the training data relative to one in the base corpus, per epoch (the local model is an n-gram model).',
  })
  @IsOptional()
  @IsAutoOr({ min: 0, max: 50, integer: false, exclusiveMin: true })
  learning_rate_multiplier?: number | 'auto';
}

/** `method.supervised` (OpenAI). */
export class SupervisedMethodDto {
  @ApiPropertyOptional({ type: HyperparametersDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => HyperparametersDto)
  hyperparameters?: HyperparametersDto;
}

/** `method` (OpenAI): only supervised fine-tuning is offered. */
export class MethodDto {
  @ApiProperty({ enum: ['supervised'] })
  @IsIn(['supervised'], { message: 'type must be "supervised" (the only method offered)' })
  type!: 'supervised';

  @ApiPropertyOptional({ type: SupervisedMethodDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => SupervisedMethodDto)
  supervised?: SupervisedMethodDto;
}

/** `POST /v1/fine_tuning/jobs` (OpenAI "Create fine-tuning job"). */
export class CreateFineTuningJobDto {
  @ApiProperty({ example: 'llama-3-8b-local', description: 'A fine-tunable base model.' })
  @IsString()
  @MaxLength(200)
  model!: string;

  @ApiProperty({ example: 'file-5f2c0e6a1b9d4c3e8a7f6b21' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  training_file!: string;

  @ApiPropertyOptional({ description: 'Scored (never trained on) at the end of each epoch.' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  validation_file?: string;

  @ApiPropertyOptional({
    type: HyperparametersDto,
    description: 'Or `method.supervised.hyperparameters`.',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => HyperparametersDto)
  hyperparameters?: HyperparametersDto;

  @ApiPropertyOptional({ type: MethodDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => MethodDto)
  method?: MethodDto;

  @ApiPropertyOptional({
    example: 'support-desk',
    description: 'Part of `fine_tuned_model`: 1-40 of a-z, 0-9 and "-".',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,39}$/, {
    message: 'suffix must be 1-40 characters of a-z, 0-9 and "-", starting with a letter or digit',
  })
  suffix?: string;

  @ApiPropertyOptional({
    description: 'Seeds the shuffles: the same seed and data train the same model.',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  seed?: number;

  @ApiPropertyOptional({
    description: 'Up to 16 string pairs (keys ≤ 64 characters, values ≤ 512).',
    additionalProperties: { type: 'string' },
  })
  @IsOptional()
  @IsObject()
  @ValidateBy({
    name: 'isMetadata',
    validator: {
      validate: (value: unknown) =>
        !!value &&
        typeof value === 'object' &&
        Object.keys(value).length <= 16 &&
        Object.entries(value).every(
          ([k, v]) => k.length >= 1 && k.length <= 64 && typeof v === 'string' && v.length <= 512,
        ),
      defaultMessage: () =>
        'metadata must hold at most 16 pairs of string keys (1-64 characters) and string values (≤ 512)',
    },
  })
  metadata?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Not offered: absent or empty.' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(0, { message: 'integrations are not offered' })
  integrations?: unknown[];
}

/** `GET /v1/fine_tuning/jobs` and the events and checkpoints lists: OpenAI's `after` and `limit`. */
export class FineTuningListQueryDto extends OpenAiListQueryDto {}
