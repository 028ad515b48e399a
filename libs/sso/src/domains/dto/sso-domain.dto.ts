import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, Matches, MaxLength } from 'class-validator';

/** `POST /v1/tenants/{tenantId}/domains`. */
export class ClaimDomainDto {
  @ApiProperty({ example: 'corp.example.com' })
  @IsString()
  @MaxLength(253)
  @Matches(/^(?=.{1,253}\.?$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$/i, {
    message: 'domain must be a host name such as corp.example.com',
  })
  domain!: string;
}

export class SsoDomainResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() domain!: string;
  @ApiProperty({ enum: ['pending', 'verified'] }) status!: string;
  @ApiProperty({ example: '_cp-verification.corp.example.com' }) txtRecordName!: string;
  @ApiProperty({ description: 'Publish it as the TXT record value, then verify.' })
  txtRecordValue!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) verifiedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class SsoDomainPage {
  @ApiProperty({ type: [SsoDomainResponse] }) data!: SsoDomainResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

/** `POST /sso/discover`. */
export class DiscoverDto {
  @ApiProperty({ example: 'alice@corp.example.com' })
  @IsEmail()
  @MaxLength(320)
  email!: string;
}

export class DiscoverResponse {
  @ApiProperty({ example: 'https://cp.example.com/sso/saml/acme/login' }) loginUrl!: string;
}
