import { Omittable } from '@app/core';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';

/**
 * OpenAI's list paging (`limit` 1-100, default 20; `after`: the id of the last item of the
 * previous page), shared by the files and fine-tuning lists.
 */
export class OpenAiListQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @Omittable()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  @ApiPropertyOptional({ description: 'The id of the last item of the previous page.' })
  @Omittable()
  @IsString()
  @MaxLength(64)
  after?: string;
}
