import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes (256 bits) in base64url: 43 characters. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of a presented secret, as stored for lookup. */
export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** `cp_<env>_<43 base64url chars>`. */
export function newApiKey(environment: string): string {
  return `cp_${environment}_${randomSecret()}`;
}

/** Public part people recognise a key by; reveals 48 of its 256 random bits at most. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, Math.min(16, key.length - 8));
}

/** `cps_<43 base64url chars>`: a session token. */
export function newSessionToken(): string {
  return `cps_${randomSecret()}`;
}
