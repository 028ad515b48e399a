import canonicalize from 'canonicalize';
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** HKDF `info` (RFC 5869 §3.2): binds derived keys to this use and format version. */
const HKDF_INFO = 'cp-idempotency-v1';
const FORMAT_V1 = 1;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * SHA-256 of the request as compared for idempotency: method, path with query as received, and
 * the JSON body in RFC 8785 canonical form (JCS: sorted keys, one number spelling), so `{"a":1,
 * "b":2}` and `{ "b": 2.0, "a": 1 }` are the same request. A request without a body differs from
 * one with `{}`.
 */
export function requestFingerprint(method: string, url: string, body: unknown): Buffer {
  const canonical = canonicalize({ method: method.toUpperCase(), url, body });
  return createHash('sha256')
    .update(canonical ?? '', 'utf8')
    .digest();
}

function keyOf(credential: string, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(credential, 'utf8'), salt, HKDF_INFO, 32));
}

/**
 * Encrypts a stored response body with AES-256-GCM under a key derived (HKDF-SHA256, RFC 5869)
 * from the raw credential the request presented and a fresh random salt. The database keeps
 * only SHA-256 hashes of credentials, so a reader of the table cannot decrypt; only a request
 * presenting the same credential can. `aad` binds the ciphertext to its row (caller, key,
 * request, status and headers).
 *
 * @returns the salt to store, and `version ‖ iv ‖ tag ‖ ciphertext`.
 */
export function sealBody(
  plain: Buffer,
  credential: string,
  aad: Buffer,
): { salt: Buffer; sealed: Buffer } {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(credential, salt), iv);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    salt,
    sealed: Buffer.concat([Buffer.from([FORMAT_V1]), iv, cipher.getAuthTag(), ciphertext]),
  };
}

/**
 * The inverse of {@link sealBody}.
 *
 * @throws Error when the credential, salt or `aad` differ from sealing time, or the bytes were
 *   altered (GCM authentication fails).
 */
export function openBody(sealed: Buffer, salt: Buffer, credential: string, aad: Buffer): Buffer {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== FORMAT_V1)
    throw new Error('unknown sealed body format');
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', keyOf(credential, salt), iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([
    decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)),
    decipher.final(),
  ]);
}
