import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';

/** `POST /v1/tenants` (API.md, Tenants and access). */
export class CreateTenantDto {
  @ApiProperty({
    example: 'acme',
    description: 'Unique handle: 1-63 lowercase letters, digits, inner hyphens.',
  })
  @IsString()
  @Matches(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
    message:
      'slug must be 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen',
  })
  slug!: string;

  @ApiProperty({ example: 'Acme Corp' })
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name!: string;
}
