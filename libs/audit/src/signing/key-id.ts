import { createHash, KeyObject } from 'node:crypto';

/** Key id: the first 16 bytes (hex) of SHA-256 over the public key's SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 32);
}
