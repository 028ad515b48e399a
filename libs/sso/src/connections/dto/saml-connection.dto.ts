import { Omittable } from '@app/core';
import { Role, ROLES } from '@app/authz';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { MAPPING_PRESETS } from '../saml-connection.types';

const ATTRIBUTE = 'An attribute Name of the assertion, or `nameID` for the subject NameID.';

export class AttributeMappingDto {
  @ApiProperty({ enum: MAPPING_PRESETS, description: 'Fills the fields not given here.' })
  @IsIn([...MAPPING_PRESETS])
  preset!: (typeof MAPPING_PRESETS)[number];

  @ApiPropertyOptional({ description: ATTRIBUTE })
  @Omittable()
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  email?: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: ATTRIBUTE })
  @ValidateIf((_o, value) => value !== undefined && value !== null)
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  firstName?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: ATTRIBUTE })
  @ValidateIf((_o, value) => value !== undefined && value !== null)
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  lastName?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: ATTRIBUTE })
  @ValidateIf((_o, value) => value !== undefined && value !== null)
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  groups?: string | null;

  @ApiPropertyOptional({
    description: `${ATTRIBUTE} The stable identifier users are keyed by (not a transient NameID).`,
  })
  @Omittable()
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  userKey?: string;
}

const ROLE_KINDS =
  "A customer tenant's connection grants tenant roles; the operator's own (the platform tenant's, for staff sign-in) grants platform roles (platform_admin, account_manager, compliance_officer).";

export class RoleRuleDto {
  @ApiProperty({ example: 'ml-team', description: 'A value of the groups attribute.' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  group!: string;

  @ApiProperty({ enum: ROLES, description: ROLE_KINDS })
  @IsIn([...ROLES])
  role!: Role;
}

class ConnectionFieldsDto {
  @ApiPropertyOptional({
    description:
      'The IdP metadata XML (entity ID, SSO URL and binding, signing certificates are read from it). Instead of idpEntityId, ssoUrl and certificates.',
  })
  @Omittable()
  @IsString()
  @MaxLength(200_000)
  metadataXml?: string;

  @ApiPropertyOptional({ example: 'http://www.okta.com/exk1abcd' })
  @Omittable()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  idpEntityId?: string;

  @ApiPropertyOptional({ example: 'https://corp.okta.com/app/corp_cp_1/exk1abcd/sso/saml' })
  @Omittable()
  @IsUrl({ protocols: ['https', 'http'], require_protocol: true, require_tld: false })
  @MaxLength(2048)
  ssoUrl?: string;

  @ApiPropertyOptional({ enum: ['redirect', 'post'], default: 'redirect' })
  @Omittable()
  @IsIn(['redirect', 'post'])
  ssoBinding?: 'redirect' | 'post';

  @ApiPropertyOptional({
    type: [String],
    description: 'PEM signing certificates (several during a rollover: any of them verifies).',
  })
  @Omittable()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  certificates?: string[];

  @ApiPropertyOptional({ type: AttributeMappingDto })
  @Omittable()
  @ValidateNested()
  @Type(() => AttributeMappingDto)
  attributeMapping?: AttributeMappingDto;

  @ApiPropertyOptional({
    type: [RoleRuleDto],
    description: 'IdP group → tenant role; when several match, the highest role wins.',
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(200)
  @ValidateNested({ each: true })
  @Type(() => RoleRuleDto)
  roleRules?: RoleRuleDto[];

  @ApiPropertyOptional({
    enum: ROLES,
    nullable: true,
    description: `Role of people whose groups match no rule; null: they are refused. ${ROLE_KINDS}`,
  })
  @ValidateIf((_o, value) => value !== undefined && value !== null)
  @IsIn([...ROLES])
  defaultRole?: string | null;

  @ApiPropertyOptional({
    default: false,
    description: 'Accept IdP-initiated (unsolicited) responses.',
  })
  @Omittable()
  @IsBoolean()
  allowIdpInitiated?: boolean;

  @ApiPropertyOptional({ default: false, description: 'Sign AuthnRequests with our SP key.' })
  @Omittable()
  @IsBoolean()
  signAuthnRequests?: boolean;

  @ApiPropertyOptional({
    default: false,
    description: 'Leave RequestedAuthnContext out of AuthnRequests (ADFS with Windows auth).',
  })
  @Omittable()
  @IsBoolean()
  omitRequestedAuthnContext?: boolean;
}

/** `POST /v1/tenants/{tenantId}/sso/saml-connections`. */
export class CreateSamlConnectionDto extends ConnectionFieldsDto {
  @ApiProperty({ example: 'Okta' })
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(200)
  name!: string;
}

/** `PATCH .../sso/saml-connections/{id}`: any field. */
export class UpdateSamlConnectionDto extends ConnectionFieldsDto {
  @ApiPropertyOptional()
  @Omittable()
  @IsString()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;
}
