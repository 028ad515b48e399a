import { isSecretKey, REDACTED } from '@app/core';

/**
 * Fields never written to the audit log in clear, by name at any depth: API key secrets (`key`),
 * secrets, tokens, passwords, private keys and certificates' private parts, SAML assertions,
 * credentials and their hashes (the declared list is core's `isSecretKey`, shared with logs),
 * plus `privateKeyPem` and `signingKey` spelled out for certificates.
 */
const AUDIT_SECRET_FIELDS = new Set(['privatekeypem', 'signingkey', 'encryptionkey', 'pem']);

const MAX_DEPTH = 16;

function isAuditSecret(name: string): boolean {
  return isSecretKey(name) || AUDIT_SECRET_FIELDS.has(name.toLowerCase().replace(/[^a-z0-9]/g, ''));
}

/** A deep copy of `value` with every secret field replaced by `[REDACTED]`. */
export function redactForAudit(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[TRUNCATED]';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => redactForAudit(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    copy[key] = isAuditSecret(key) ? REDACTED : redactForAudit(item, depth + 1);
  }
  return copy;
}
