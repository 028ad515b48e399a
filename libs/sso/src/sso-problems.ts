import { defineProblem } from '@app/core';

export const SamlConnectionAlreadyEnabled = defineProblem({
  code: 'saml_connection_already_enabled',
  status: 409,
  title: 'Another SAML connection is enabled',
  description:
    'A tenant signs in through one SAML connection at a time; disable the enabled one first. Nothing was changed.',
});

export const DomainTaken = defineProblem({
  code: 'domain_taken',
  status: 409,
  title: 'Domain verified by another tenant',
  description:
    'A domain is verified for one tenant only (home-realm discovery needs one answer). Nothing was changed.',
});

export const DomainVerificationFailed = defineProblem({
  code: 'domain_verification_failed',
  status: 422,
  title: 'Domain verification failed',
  description:
    "No TXT record at the domain's `txtRecordName` carries its `txtRecordValue` (yet): publish it at your DNS provider, wait for it to propagate, and try again.",
});

export const SsoNotConfigured = defineProblem({
  code: 'sso_not_configured',
  status: 404,
  title: 'Single sign-on not configured',
  description:
    'No tenant has verified this email domain with an enabled SAML connection, or the tenant has no enabled SAML connection.',
});

/**
 * Why a SAML sign-in was refused: a stable `code` (the audit event's reason starts with it) and
 * a readable `detail`. Answered as a small HTML page, since a browser posted the form.
 */
export class SamlLoginRefused extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly status = 401,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'SamlLoginRefused';
  }
}
