import { API_KEY_SCOPES, ApiKeyScope, Role, ROLES } from '@app/authz';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsDate,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MinDate,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { RateLimitsDto } from './rate-limits.dto';

/**
 * `POST /v1/tenants/{tenantId}/api-keys` and `POST /v1/platform/api-keys` (API.md). A key needs
 * at least one role or scope; roles must belong to the key's scope (tenant or platform roles).
 */
export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci', maxLength: 100 })
  @IsString()
  @Length(1, 100)
  @Matches(/\S/, { message: 'name must not be blank' })
  name!: string;

  @ApiPropertyOptional({
    enum: [...ROLES],
    isArray: true,
    default: [],
  })
  @ValidateIf((dto: CreateApiKeyDto) => dto.roles !== undefined)
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(8)
  @IsIn([...ROLES], { each: true })
  roles: Role[] = [];

  @ApiPropertyOptional({ enum: API_KEY_SCOPES, isArray: true, default: [] })
  @ValidateIf((dto: CreateApiKeyDto) => dto.scopes !== undefined)
  @IsArray()
  @ArrayUnique()
  @IsIn([...API_KEY_SCOPES], { each: true })
  scopes: ApiKeyScope[] = [];

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Must be in the future.',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'expiresAt must be an ISO 8601 date-time' })
  @MinDate(() => new Date(), { message: 'expiresAt must be in the future' })
  expiresAt: Date | null = null;

  @ApiPropertyOptional({
    type: RateLimitsDto,
    nullable: true,
    description: 'Per-minute limits; null or absent: unlimited.',
  })
  @IsOptional()
  @IsObject({ message: 'rateLimits must be an object or null' })
  @ValidateNested()
  @Type(() => RateLimitsDto)
  rateLimits: RateLimitsDto | null = null;
}
