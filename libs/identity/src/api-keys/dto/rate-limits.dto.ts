import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const MAX_REQUESTS_PER_MINUTE = 1_000_000;
export const MAX_TOKENS_PER_MINUTE = 1_000_000_000;

/** `rateLimits` of an API key (API.md): per-minute limits, each optional (absent or null: unlimited; null is allowed here). */
export class RateLimitsDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_REQUESTS_PER_MINUTE, example: 600 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_REQUESTS_PER_MINUTE)
  requestsPerMinute?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_TOKENS_PER_MINUTE,
    example: 200_000,
    description: 'Counted as estimated when a request starts, trued up to actual usage after.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TOKENS_PER_MINUTE)
  tokensPerMinute?: number;
}
