import type { Role } from '@app/authz';

/** A signing certificate of an IdP as stored: the PEM and what people need to see. */
export interface StoredCertificate {
  pem: string;
  /** SHA-256 of the DER, upper-case hex pairs joined by `:` (as `openssl x509 -fingerprint`). */
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
}

export const MAPPING_PRESETS = ['okta', 'entra', 'google', 'adfs', 'custom'] as const;
export type MappingPreset = (typeof MAPPING_PRESETS)[number];

/**
 * Where each user field comes from: an attribute name of the assertion, or `nameID` for the
 * subject's NameID. `userKey` is the stable identifier users are keyed by.
 */
export interface AttributeMapping {
  preset: MappingPreset;
  email: string;
  firstName: string | null;
  lastName: string | null;
  groups: string | null;
  userKey: string;
}

export interface RoleRule {
  group: string;
  role: Role;
}

const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS_CLAIMS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims';

/**
 * Attribute names each IdP sends by default (or in its documented SAML app template):
 * - Okta: the app's attribute statements `email`, `firstName`, `lastName` and a group attribute
 *   statement `groups`; the Okta user id is not sent by default, so the key is the email.
 * - Entra ID: the claim URIs of its SAML token reference; the object id
 *   (`.../identity/claims/objectidentifier`) is the immutable key.
 * - Google Workspace: NameID = primary email (persistent), attributes as mapped in the admin
 *   console (we suggest `firstName`, `lastName`, `groups`).
 * - ADFS: the WS-Federation claim URIs; UPN as key, group claims issued as `role`.
 */
export const PRESETS: Record<Exclude<MappingPreset, 'custom'>, Omit<AttributeMapping, 'preset'>> = {
  okta: {
    email: 'email',
    firstName: 'firstName',
    lastName: 'lastName',
    groups: 'groups',
    userKey: 'email',
  },
  entra: {
    email: `${CLAIMS}/emailaddress`,
    firstName: `${CLAIMS}/givenname`,
    lastName: `${CLAIMS}/surname`,
    groups: `${MS_CLAIMS}/groups`,
    userKey: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
  },
  google: {
    email: 'nameID',
    firstName: 'firstName',
    lastName: 'lastName',
    groups: 'groups',
    userKey: 'nameID',
  },
  adfs: {
    email: `${CLAIMS}/emailaddress`,
    firstName: `${CLAIMS}/givenname`,
    lastName: `${CLAIMS}/surname`,
    groups: `${MS_CLAIMS}/role`,
    userKey: `${CLAIMS}/upn`,
  },
};

/**
 * Roles from most to least privileged: when several group rules match, the first of these wins
 * ("highest wins"). A customer's connection maps to tenant roles, the operator's own connection
 * (staff sign-in) to platform roles; the connection service keeps each to its own kind.
 */
export const ROLE_PRECEDENCE: readonly Role[] = [
  'platform_admin',
  'tenant_admin',
  'account_manager',
  'ml_engineer',
  'compliance_officer',
  'viewer',
];

/** The role a person gets from their groups: the highest matched, else the default, else none. */
export function roleFor(
  groups: readonly string[],
  rules: readonly RoleRule[],
  defaultRole: Role | null,
): Role | null {
  // IdPs differ in the case and padding of group claims (Entra, ADFS): compare trimmed and
  // case-folded.
  const fold = (group: string) => group.trim().toLowerCase();
  const held = new Set(groups.map(fold));
  const matched = new Set(rules.filter((rule) => held.has(fold(rule.group))).map((r) => r.role));
  return ROLE_PRECEDENCE.find((role) => matched.has(role)) ?? defaultRole;
}
