import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsObject, ValidateIf, ValidateNested } from 'class-validator';
import { RateLimitsDto } from './rate-limits.dto';

/**
 * `PATCH /v1/tenants/{tenantId}/api-keys/{id}` and `PATCH /v1/platform/api-keys/{id}`: what may
 * change on a key without a new secret. Only its rate limits, for now (roles and scopes are fixed
 * at creation: a key with other powers is a new key).
 */
export class UpdateApiKeyDto {
  @ApiProperty({
    type: RateLimitsDto,
    nullable: true,
    description: 'Replaces the limits whole; null removes them (unlimited).',
  })
  @IsDefined({ message: 'rateLimits is required (null removes the limits)' })
  @ValidateIf((_dto, value) => value !== null)
  @IsObject({ message: 'rateLimits must be an object or null' })
  @ValidateNested()
  @Type(() => RateLimitsDto)
  rateLimits!: RateLimitsDto | null;
}
