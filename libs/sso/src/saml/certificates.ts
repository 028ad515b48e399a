import { X509Certificate } from 'node:crypto';
import type { StoredCertificate } from '../connections/saml-connection.types';

/** A PEM certificate, or the bare base64 DER found in SAML metadata, as a PEM. */
export function toPem(text: string): string {
  const trimmed = text.trim();
  if (trimmed.includes('-----BEGIN')) return trimmed;
  const body = trimmed.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----`;
}

/**
 * Parses one X.509 certificate.
 *
 * @returns the certificate as stored, or a message saying why it is not one
 */
export function parseCertificate(text: string): StoredCertificate | string {
  if (typeof text !== 'string' || text.length > 20_000) return 'must be a PEM certificate';
  try {
    const certificate = new X509Certificate(toPem(text));
    if (
      certificate.publicKey.asymmetricKeyType !== 'rsa' &&
      certificate.publicKey.asymmetricKeyType !== 'ec'
    ) {
      return 'must hold an RSA or EC public key';
    }
    return {
      pem: certificate.toString().trim(),
      fingerprint: certificate.fingerprint256,
      subject: certificate.subject.replace(/\n/g, ', '),
      notBefore: new Date(certificate.validFrom).toISOString(),
      notAfter: new Date(certificate.validTo).toISOString(),
    };
  } catch {
    return 'is not a readable X.509 certificate (PEM or base64 DER)';
  }
}

/** How a certificate stands at `now`: expired, or expiring within `warningDays`. */
export function certificateStanding(
  certificate: StoredCertificate,
  now: Date,
  warningDays: number,
): { expired: boolean; expiresSoon: boolean; daysLeft: number } {
  const left = new Date(certificate.notAfter).getTime() - now.getTime();
  const daysLeft = Math.floor(left / 86_400_000);
  return { expired: left <= 0, expiresSoon: left > 0 && daysLeft < warningDays, daysLeft };
}
