import forge from 'node-forge';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import * as samlify from 'samlify';

/**
 * An independent SAML 2.0 identity provider for the tests and the demo, built on samlify (not node-saml, which
 * the product uses): samlify makes its metadata and XML-DSig signatures (through its own
 * `SamlLib.constructSAMLSignature`), with RSA keys and self-signed certificates made at test
 * time (the demo serves it over HTTP in apps/demo/src/demo-idp.ts). Responses are written from templates shaped like Okta's, Entra ID's and Google
 * Workspace's, so that every field a test needs to break can be broken, and the helpers below
 * manipulate signed XML by hand for signature-wrapping and comment-injection attacks.
 *
 * samlify refuses to parse without a schema validator; this IdP only *generates* messages (it
 * reads AuthnRequests with a regex, below), so it registers one that validates nothing and says
 * so.
 */
samlify.setSchemaValidator({
  validate: () => Promise.resolve('schema validation skipped: the test IdP only generates XML'),
});

const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

export interface KeyAndCertificate {
  privateKeyPem: string;
  certificatePem: string;
}

/**
 * An RSA 2048 key and a self-signed certificate, made now (valid from a day ago for a year
 * unless `validity` says otherwise). `ipAddresses` become subjectAltName entries, so the
 * certificate can also serve TLS on those addresses.
 */
export function makeKeyAndCertificate(
  commonName = 'test idp',
  validity: { notBefore?: Date; notAfter?: Date } = {},
  ipAddresses: string[] = [],
): KeyAndCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  certificate.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  certificate.validity.notBefore = validity.notBefore ?? new Date(Date.now() - 86_400_000);
  certificate.validity.notAfter = validity.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const name = [{ name: 'commonName', value: commonName }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  if (ipAddresses.length) {
    certificate.setExtensions([
      { name: 'subjectAltName', altNames: ipAddresses.map((ip) => ({ type: 7, ip })) },
    ]);
  }
  certificate.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  return { privateKeyPem, certificatePem: forge.pki.certificateToPem(certificate) };
}

export type IdpVariant = 'okta' | 'entra' | 'google';

/** A person as the IdP knows them. */
export interface IdpUser {
  email: string;
  firstName?: string;
  lastName?: string;
  groups?: string[];
  /** Entra's object id; made up when absent. */
  objectId?: string;
}

export interface ResponseOptions {
  /** Our ACS URL: Destination and Recipient unless overridden. */
  acsUrl: string;
  /** Our SP entity ID: the Audience unless overridden. */
  audience: string | null;
  inResponseTo?: string | null;
  destination?: string | null;
  recipient?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  /** The NameID text as raw XML (not escaped): for comment-injection tests. */
  nameIdXml?: string;
  nameIdFormat?: string;
  signAssertion?: boolean;
  signResponse?: boolean;
  /** Sign with this key instead of the IdP's current one. */
  signWith?: KeyAndCertificate;
  assertionId?: string;
  /** A non-success top-level status code (e.g. `urn:...:status:Responder`) and its message. */
  status?: { code: string; message?: string };
  /** Encrypt the assertion for this certificate (our SP's), after signing it. */
  encryptFor?: string;
}

/** What an AuthnRequest said, read from an HTTP-Redirect URL. */
export interface ReceivedAuthnRequest {
  id: string;
  issuer: string;
  acsUrl: string | null;
  relayState: string | null;
  signed: boolean;
  hasRequestedAuthnContext: boolean;
  xml: string;
}

/**
 * The IdP: its entity ID, SSO URL, signing and encryption keys, metadata, and the Responses it
 * signs. It makes and reads messages only; serving them over HTTP is the caller's (the tests
 * hand them to supertest, the demo to its HTTPS server).
 */
export class SamlIdp {
  readonly entityId: string;
  readonly ssoUrl: string;
  /** The keys that sign now; `previous` are older ones still in the metadata (rollover). */
  signing: KeyAndCertificate;
  /** Made for the metadata's `use="encryption"` KeyDescriptor only; never signs. */
  readonly encryption: KeyAndCertificate;

  constructor(
    readonly variant: IdpVariant,
    options: { entityId?: string; ssoUrl?: string; signing?: KeyAndCertificate } = {},
  ) {
    const id = randomUUID().slice(0, 8);
    this.entityId =
      options.entityId ??
      {
        okta: `http://www.okta.com/exk${id}`,
        entra: `https://sts.windows.net/${randomUUID()}/`,
        google: `https://accounts.google.com/o/saml2?idpid=C${id}`,
      }[variant];
    this.ssoUrl =
      options.ssoUrl ??
      {
        okta: `https://corp-${id}.okta.example/app/cp/exk${id}/sso/saml`,
        entra: `https://login.microsoftonline.example/${id}/saml2`,
        google: `https://accounts.google.example/o/saml2/idp?idpid=C${id}`,
      }[variant];
    this.signing = options.signing ?? makeKeyAndCertificate(`${variant} signing`);
    this.encryption = makeKeyAndCertificate(`${variant} encryption`);
  }

  /**
   * The IdP's metadata, made by samlify: entity ID, an HTTP-Redirect SingleSignOnService, a
   * signing KeyDescriptor per certificate and an encryption-only one.
   */
  metadataXml(signingCertificates: string[] = [this.signing.certificatePem]): string {
    const idp = samlify.IdentityProvider({
      entityID: this.entityId,
      signingCert: signingCertificates,
      encryptCert: this.encryption.certificatePem,
      singleSignOnService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: this.ssoUrl },
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: this.ssoUrl },
      ],
      singleLogoutService: [
        {
          Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
          Location: `${this.ssoUrl}/logout`,
        },
      ],
    });
    return idp.getMetadata();
  }

  /** Reads the AuthnRequest of an HTTP-Redirect URL (DEFLATE + base64, SAML bindings §3.4.4.1). */
  readAuthnRequest(redirectUrl: string): ReceivedAuthnRequest {
    const url = new URL(redirectUrl);
    const encoded = url.searchParams.get('SAMLRequest');
    if (!encoded) throw new Error(`no SAMLRequest in ${redirectUrl}`);
    const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
    const attribute = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(xml)?.[1] ?? null;
    return {
      id: attribute('ID') ?? '',
      issuer: /<(?:saml:)?Issuer[^>]*>([^<]*)</.exec(xml)?.[1] ?? '',
      acsUrl: attribute('AssertionConsumerServiceURL'),
      relayState: url.searchParams.get('RelayState'),
      signed: url.searchParams.has('Signature'),
      hasRequestedAuthnContext: xml.includes('RequestedAuthnContext'),
      xml,
    };
  }

  /** The attribute statement this variant sends for `user`. */
  attributesOf(user: IdpUser): Record<string, string[]> {
    const claims = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
    switch (this.variant) {
      case 'okta':
        return {
          email: [user.email],
          firstName: [user.firstName ?? 'Alice'],
          lastName: [user.lastName ?? 'Example'],
          groups: user.groups ?? [],
        };
      case 'entra':
        return {
          'http://schemas.microsoft.com/identity/claims/objectidentifier': [
            user.objectId ?? randomUUID(),
          ],
          [`${claims}/emailaddress`]: [user.email],
          [`${claims}/givenname`]: [user.firstName ?? 'Alice'],
          [`${claims}/surname`]: [user.lastName ?? 'Example'],
          [`${claims}/name`]: [user.email],
          'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups': user.groups ?? [],
        };
      case 'google':
        return {
          firstName: [user.firstName ?? 'Alice'],
          lastName: [user.lastName ?? 'Example'],
          groups: user.groups ?? [],
        };
    }
  }

  /**
   * A SAML Response for `user` as XML. Defaults per variant: Okta signs the response and the
   * assertion; Entra ID and Google sign the assertion only. NameID: Okta and Google the email
   * (emailAddress), Entra a persistent opaque id.
   */
  responseXml(user: IdpUser, options: ResponseOptions): string {
    const now = Date.now();
    const issueInstant = new Date(now).toISOString();
    const notBefore = (options.notBefore ?? new Date(now - 60_000)).toISOString();
    const notOnOrAfter = (options.notOnOrAfter ?? new Date(now + 5 * 60_000)).toISOString();
    const assertionId = options.assertionId ?? `_a${randomUUID().replace(/-/g, '')}`;
    const inResponseTo = options.inResponseTo ?? null;
    const destination = options.destination === undefined ? options.acsUrl : options.destination;
    const nameIdFormat =
      options.nameIdFormat ?? (this.variant === 'entra' ? NAMEID_PERSISTENT : NAMEID_EMAIL);
    const nameId =
      options.nameIdXml ?? escapeXml(this.variant === 'entra' ? `${randomUUID()}` : user.email);
    const attributes = Object.entries(this.attributesOf(user))
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:${name.includes(':') ? 'uri' : 'basic'}">${values
            .map(
              (value) =>
                `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${escapeXml(value)}</saml:AttributeValue>`,
            )
            .join('')}</saml:Attribute>`,
      )
      .join('');
    const audience =
      options.audience === null
        ? ''
        : `<saml:AudienceRestriction><saml:Audience>${escapeXml(options.audience)}</saml:Audience></saml:AudienceRestriction>`;
    const irt = inResponseTo ? ` InResponseTo="${escapeXml(inResponseTo)}"` : '';
    const status = options.status
      ? `<samlp:Status><samlp:StatusCode Value="${options.status.code}"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode>${options.status.message ? `<samlp:StatusMessage>${escapeXml(options.status.message)}</samlp:StatusMessage>` : ''}</samlp:Status>`
      : `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`;
    const assertion = options.status
      ? ''
      : `<saml:Assertion xmlns:saml="${ASSERTION}" ID="${assertionId}" Version="2.0" IssueInstant="${issueInstant}">` +
        `<saml:Issuer>${escapeXml(this.entityId)}</saml:Issuer>` +
        `<saml:Subject><saml:NameID Format="${nameIdFormat}">${nameId}</saml:NameID>` +
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${irt} NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(options.recipient ?? options.acsUrl)}"/></saml:SubjectConfirmation></saml:Subject>` +
        `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">${audience}</saml:Conditions>` +
        `<saml:AuthnStatement AuthnInstant="${issueInstant}" SessionIndex="_s${randomUUID().replace(/-/g, '')}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
        `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` +
        `</saml:Assertion>`;
    let xml =
      `<samlp:Response xmlns:samlp="${PROTOCOL}" xmlns:saml="${ASSERTION}" ID="_r${randomUUID().replace(/-/g, '')}" Version="2.0" IssueInstant="${issueInstant}"` +
      `${destination ? ` Destination="${escapeXml(destination)}"` : ''}${irt}>` +
      `<saml:Issuer>${escapeXml(this.entityId)}</saml:Issuer>${status}${assertion}</samlp:Response>`;
    const key = options.signWith ?? this.signing;
    const signAssertion = options.signAssertion ?? true;
    const signResponse = options.signResponse ?? this.variant === 'okta';
    if (signAssertion && assertion) xml = signAssertionOf(xml, key);
    if (signResponse) xml = signResponseOf(xml, key);
    return xml;
  }

  /** {@link responseXml}, base64 as the HTTP-POST binding sends it (optionally encrypted). */
  async response(user: IdpUser, options: ResponseOptions): Promise<string> {
    const xml = this.responseXml(user, options);
    return options.encryptFor ? encryptAssertion(xml, options.encryptFor) : b64(xml);
  }
}

/** The tests' name for {@link SamlIdp}. */
export const TestIdp = SamlIdp;
export type TestIdp = SamlIdp;

/** The base64 DER of a PEM certificate, as it appears in `<ds:X509Certificate>`. */
export function bareCertificate(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
}

/** base64 of UTF-8, as the HTTP-POST binding carries SAML messages. */
export function b64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

const RESPONSE_PATH = "/*[local-name(.)='Response']";
const ASSERTION_PATH = `${RESPONSE_PATH}/*[local-name(.)='Assertion']`;

/** Signs the Response's Assertion (enveloped, exc-c14n, RSA-SHA256), the Signature after its Issuer. */
export function signAssertionOf(xml: string, key: KeyAndCertificate): string {
  return samlify.SamlLib.constructSAMLSignature({
    rawSamlMessage: xml,
    referenceTagXPath: ASSERTION_PATH,
    privateKey: key.privateKeyPem,
    signingCert: bareCertificate(key.certificatePem),
    signatureAlgorithm: RSA_SHA256,
    isBase64Output: false,
    signatureConfig: {
      prefix: 'ds',
      location: { reference: `${ASSERTION_PATH}/*[local-name(.)='Issuer']`, action: 'after' },
    },
  });
}

/** Signs the whole Response, the Signature after its Issuer. */
export function signResponseOf(xml: string, key: KeyAndCertificate): string {
  return samlify.SamlLib.constructSAMLSignature({
    rawSamlMessage: xml,
    privateKey: key.privateKeyPem,
    signingCert: bareCertificate(key.certificatePem),
    signatureAlgorithm: RSA_SHA256,
    isBase64Output: false,
    isMessageSigned: true,
    signatureConfig: {
      prefix: 'ds',
      location: { reference: `${RESPONSE_PATH}/*[local-name(.)='Issuer']`, action: 'after' },
    },
  });
}

/** Encrypts the one Assertion of `xml` for `certificatePem` with samlify (its defaults: AES-256-CBC, RSA-OAEP). */
async function encryptAssertion(xml: string, certificatePem: string): Promise<string> {
  const sp = samlify.ServiceProvider({
    entityID: 'urn:test:sp',
    encryptCert: certificatePem,
    assertionConsumerService: [
      {
        Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
        Location: 'https://sp.invalid/acs',
      },
    ],
  });
  const idp = samlify.IdentityProvider({
    entityID: 'urn:test:idp',
    isAssertionEncrypted: true,
    singleSignOnService: [
      {
        Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
        Location: 'https://idp.invalid/sso',
      },
    ],
    singleLogoutService: [
      {
        Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
        Location: 'https://idp.invalid/slo',
      },
    ],
  });
  return samlify.SamlLib.encryptAssertion(idp, sp, xml);
}

/** The `<saml:Assertion ...>...</saml:Assertion>` element of a response, as text. */
export function assertionOf(xml: string): string {
  const start = xml.indexOf('<saml:Assertion');
  const end = xml.indexOf('</saml:Assertion>', start) + '</saml:Assertion>'.length;
  if (start < 0 || end < start) throw new Error('no assertion in the response');
  return xml.slice(start, end);
}

/** `assertion` without its Signature and with another NameID and email: what an attacker forges. */
export function forgedFrom(assertion: string, email: string): string {
  return assertion
    .replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '')
    .replace(
      /<saml:NameID([^>]*)>[^<]*<\/saml:NameID>/,
      `<saml:NameID$1>${escapeXml(email)}</saml:NameID>`,
    )
    .replace(
      /(<saml:Attribute Name="email"[^>]*><saml:AttributeValue[^>]*>)[^<]*/,
      `$1${escapeXml(email)}`,
    );
}

/**
 * XML signature wrapping (Somorovsky et al., "On Breaking SAML", 2012): the genuinely signed
 * assertion is moved where a careless verifier still finds its signature valid, and a forged
 * sibling takes its place as the Response's assertion.
 *
 * - `extensions`: signed assertion inside `<samlp:Extensions>`, forged assertion (same ID) after.
 * - `advice`: forged assertion (same ID) whose `<saml:Advice>` holds the signed one.
 */
export function wrapSignedAssertion(
  signedResponseXml: string,
  attackerEmail: string,
  where: 'extensions' | 'advice',
): string {
  const signed = assertionOf(signedResponseXml);
  const forged = forgedFrom(signed, attackerEmail);
  const replacement =
    where === 'extensions'
      ? `<samlp:Extensions>${signed}</samlp:Extensions>${forged}`
      : forged.replace('</saml:Issuer>', `</saml:Issuer><saml:Advice>${signed}</saml:Advice>`);
  // Extensions must come before Status (saml-core §3.2.2): put it right after the Issuer.
  if (where === 'extensions') {
    const withoutAssertion = signedResponseXml.replace(signed, '');
    return withoutAssertion
      .replace('</saml:Issuer>', `</saml:Issuer><samlp:Extensions>${signed}</samlp:Extensions>`)
      .replace('</samlp:Response>', `${forged}</samlp:Response>`);
  }
  return signedResponseXml.replace(signed, replacement);
}
