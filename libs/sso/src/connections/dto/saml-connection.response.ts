import { ApiProperty } from '@nestjs/swagger';

export class CertificateView {
  @ApiProperty({ description: 'SHA-256 fingerprint (colon-separated hex).' }) fingerprint!: string;
  @ApiProperty() subject!: string;
  @ApiProperty({ format: 'date-time' }) notBefore!: string;
  @ApiProperty({ format: 'date-time' }) notAfter!: string;
  @ApiProperty() expired!: boolean;
  @ApiProperty({ description: 'Expires within SAML_CERT_EXPIRY_WARNING_DAYS.' })
  expiresSoon!: boolean;
}

export class ServiceProviderView {
  @ApiProperty({ description: 'Our SP entity ID for this tenant (the audience).' })
  entityId!: string;
  @ApiProperty({ description: 'Assertion Consumer Service (HTTP-POST).' }) acsUrl!: string;
  @ApiProperty() metadataUrl!: string;
  @ApiProperty() loginUrl!: string;
}

/** A SAML connection as shown to people (certificate PEMs are not repeated). */
export class SamlConnectionResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['enabled', 'disabled'] }) status!: string;
  @ApiProperty() idpEntityId!: string;
  @ApiProperty() ssoUrl!: string;
  @ApiProperty({ enum: ['redirect', 'post'] }) ssoBinding!: string;
  @ApiProperty({ type: [CertificateView] }) certificates!: CertificateView[];
  @ApiProperty({ type: [String], description: 'Expired and soon-expiring certificates.' })
  warnings!: string[];
  @ApiProperty({
    description: '{preset, email, firstName, lastName, groups, userKey}: attribute names or nameID',
  })
  attributeMapping!: object;
  @ApiProperty({ description: '[{group, role}]' }) roleRules!: { group: string; role: string }[];
  @ApiProperty({ type: String, nullable: true }) defaultRole!: string | null;
  @ApiProperty() allowIdpInitiated!: boolean;
  @ApiProperty() signAuthnRequests!: boolean;
  @ApiProperty() omitRequestedAuthnContext!: boolean;
  @ApiProperty({ type: ServiceProviderView }) serviceProvider!: ServiceProviderView;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class SamlConnectionPage {
  @ApiProperty({ type: [SamlConnectionResponse] }) data!: SamlConnectionResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class ConnectionTestResponse {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ description: '[{name, ok, detail}]' })
  checks!: { name: string; ok: boolean; detail: string }[];
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'The IdP redirect of a fresh AuthnRequest, to see what the IdP makes of it. No browser holds its sign-in cookie, so our ACS refuses a response to it (`browser_mismatch`): sign in at the login URL.',
  })
  authnRequestUrl!: string | null;
}
