import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RateLimitsDto } from './rate-limits.dto';

/** An API key as shown to people: never its secret (except `key`, once) nor its hash. */
export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ example: 'cp_live_Ab3dE6gH' }) prefix!: string;
  @ApiProperty({ type: [String] }) roles!: string[];
  @ApiProperty({ type: [String] }) scopes!: string[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt!: string | null;
  @ApiProperty({ type: RateLimitsDto, nullable: true, description: 'Null: unlimited.' })
  rateLimits!: RateLimitsDto | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastUsedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) rotatedAt!: string | null;
  @ApiProperty({ enum: ['active', 'revoked', 'expired'] }) status!:
    'active' | 'revoked' | 'expired';
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiPropertyOptional({ description: 'The secret. Shown only in this response; store it now.' })
  key!: string;
}

export class RotatedApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'The new secret; the old one stops working at once.' }) key!: string;
  @ApiProperty() prefix!: string;
}

export class ApiKeyPage {
  @ApiProperty({ type: [ApiKeyResponse] }) data!: ApiKeyResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
