import { Omittable, PageQueryDto } from '@app/core';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsObject,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ENDPOINT_STATUSES, EndpointStatus } from '../endpoint-lifecycle';

/** DNS-label safe, so a provider can use it in resource labels. */
export const ENDPOINT_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MODEL = /^[a-z0-9][a-z0-9._:-]{0,199}$/;
const REGION = /^[a-z]{2,12}(-[a-z0-9]{1,16}){1,3}$/;
export const MAX_REPLICAS = 64;

/** How replicas follow load between `minReplicas` and `maxReplicas`. */
export class AutoscalingDto {
  @ApiProperty({
    minimum: 1,
    maximum: 1000,
    example: 4,
    description: 'Requests in flight per replica to aim for; more load adds replicas.',
  })
  @IsInt()
  @Min(1)
  @Max(1000)
  targetConcurrentRequests!: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 3_600_000,
    default: 300_000,
    description: 'How long load must stay low before a replica is removed, ms.',
  })
  @Omittable()
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  scaleDownDelayMs?: number;
}

/** `POST /v1/tenants/{tenantId}/endpoints` (API.md). */
export class CreateEndpointDto {
  @ApiProperty({ example: 'support-bot', pattern: ENDPOINT_NAME.source })
  @IsString()
  @Matches(ENDPOINT_NAME, {
    message: 'name must be 1-63 lowercase letters, digits or "-", starting and ending alphanumeric',
  })
  name!: string;

  @ApiProperty({ example: 'llama-3-8b-local', description: 'A catalog model id.' })
  @IsString()
  @Matches(MODEL, { message: 'model must be a catalog model id' })
  model!: string;

  @ApiProperty({ example: 'eu-west-1' })
  @IsString()
  @Matches(REGION, { message: 'region must be a region code like "eu-west-1"' })
  region!: string;

  @ApiProperty({ minimum: 0, maximum: MAX_REPLICAS, example: 1 })
  @IsInt()
  @Min(0)
  @Max(MAX_REPLICAS)
  minReplicas!: number;

  @ApiProperty({ minimum: 1, maximum: MAX_REPLICAS, example: 2 })
  @IsInt()
  @Min(1)
  @Max(MAX_REPLICAS)
  maxReplicas!: number;

  @ApiPropertyOptional({ type: AutoscalingDto, nullable: true })
  @IsOptional()
  @IsObject({ message: 'autoscaling must be an object or null' })
  @ValidateNested()
  @Type(() => AutoscalingDto)
  autoscaling?: AutoscalingDto | null;
}

/**
 * `PATCH .../endpoints/{id}`: scale (`minReplicas`, `maxReplicas`, `replicas`), change the model
 * (a rolling update: new replicas are ready before old ones go) or the autoscaling policy.
 */
export class UpdateEndpointDto {
  @ApiPropertyOptional({ example: 'llama-3-8b-local' })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsString()
  @Matches(MODEL, { message: 'model must be a catalog model id' })
  model?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_REPLICAS })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsInt()
  @Min(0)
  @Max(MAX_REPLICAS)
  minReplicas?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_REPLICAS })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsInt()
  @Min(1)
  @Max(MAX_REPLICAS)
  maxReplicas?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_REPLICAS,
    description: 'Replicas wanted now (within min and max); the autoscaler moves it later.',
  })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsInt()
  @Min(0)
  @Max(MAX_REPLICAS)
  replicas?: number;

  @ApiPropertyOptional({ type: AutoscalingDto, nullable: true, description: 'null turns it off.' })
  @IsOptional()
  @IsObject({ message: 'autoscaling must be an object or null' })
  @ValidateNested()
  @Type(() => AutoscalingDto)
  autoscaling?: AutoscalingDto | null;
}

/** `GET .../endpoints` filters. */
export class EndpointQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ENDPOINT_STATUSES })
  @Omittable()
  @IsIn([...ENDPOINT_STATUSES])
  status?: EndpointStatus;

  @ApiPropertyOptional({ description: 'Include deleted endpoints (default false).' })
  @Omittable()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  includeDeleted?: boolean;
}
