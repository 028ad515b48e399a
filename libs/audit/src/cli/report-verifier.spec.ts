import { generateKeyPairSync } from 'node:crypto';
import { keyIdOf } from '../signing/key-id';
import { publicKeyFrom } from './report-verifier';

describe('publicKeyFrom (offline verifier)', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keys = (retiredAt: string | null) =>
    JSON.stringify({ keys: [{ keyId, algorithm: 'Ed25519', publicKeyPem: pem, retiredAt }] });

  it('picks the key by id from the signing-keys answer, or takes a PEM', () => {
    expect(keyIdOf(publicKeyFrom(keys(null), keyId))).toBe(keyId);
    expect(keyIdOf(publicKeyFrom(pem, keyId))).toBe(keyId);
  });

  it('refuses an unknown key id', () => {
    expect(() => publicKeyFrom(keys(null), 'f'.repeat(32))).toThrow(/no key with id/);
  });

  it('refuses a manifest dated after its key was retired, accepts one from before', () => {
    const retired = '2027-01-01T00:00:00.000Z';
    expect(() => publicKeyFrom(keys(retired), keyId, '2027-02-01T00:00:00.000Z')).toThrow(
      /retired/,
    );
    expect(keyIdOf(publicKeyFrom(keys(retired), keyId, '2026-12-01T00:00:00.000Z'))).toBe(keyId);
  });

  it('refuses a key that is not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() =>
      publicKeyFrom(rsa.export({ type: 'spki', format: 'pem' }).toString(), keyId),
    ).toThrow(/not Ed25519/);
  });
});
