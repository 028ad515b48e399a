import { openBody, requestFingerprint, sealBody } from './idempotency-crypto';

describe('requestFingerprint', () => {
  const fp = (method: string, url: string, body: unknown) =>
    requestFingerprint(method, url, body).toString('hex');

  it('compares JSON bodies canonically (RFC 8785): key order and number spelling do not matter', () => {
    expect(fp('POST', '/v1/x', JSON.parse('{"a":1,"b":[1,2]}'))).toBe(
      fp('POST', '/v1/x', JSON.parse('{ "b": [1, 2.0], "a": 1e0 }')),
    );
  });

  it('tells apart method, path, query, body and no body', () => {
    const base = fp('POST', '/v1/x', { a: 1 });
    expect(fp('PUT', '/v1/x', { a: 1 })).not.toBe(base);
    expect(fp('POST', '/v1/y', { a: 1 })).not.toBe(base);
    expect(fp('POST', '/v1/x?dry=1', { a: 1 })).not.toBe(base);
    expect(fp('POST', '/v1/x', { a: 2 })).not.toBe(base);
    expect(fp('POST', '/v1/x', [1, 2])).not.toBe(fp('POST', '/v1/x', [2, 1]));
    expect(fp('POST', '/v1/x', undefined)).not.toBe(fp('POST', '/v1/x', {}));
  });

  it('is 32 bytes of SHA-256', () => {
    expect(requestFingerprint('POST', '/', {})).toHaveLength(32);
  });
});

describe('sealBody / openBody', () => {
  const plain = Buffer.from('{"key":"cp_live_secret"}');
  const aad = Buffer.from('row');

  it('round-trips with the same credential and associated data', () => {
    const { salt, sealed } = sealBody(plain, 'cp_live_credential', aad);
    expect(sealed.includes(Buffer.from('cp_live_secret'))).toBe(false);
    expect(openBody(sealed, salt, 'cp_live_credential', aad).equals(plain)).toBe(true);
  });

  it('uses a fresh salt and IV each time', () => {
    const a = sealBody(plain, 'c', aad);
    const b = sealBody(plain, 'c', aad);
    expect(a.salt.equals(b.salt)).toBe(false);
    expect(a.sealed.equals(b.sealed)).toBe(false);
  });

  it('refuses another credential, other associated data and altered bytes', () => {
    const { salt, sealed } = sealBody(plain, 'cp_live_credential', aad);
    expect(() => openBody(sealed, salt, 'cp_live_other', aad)).toThrow();
    expect(() => openBody(sealed, salt, 'cp_live_credential', Buffer.from('other'))).toThrow();
    const altered = Buffer.from(sealed);
    altered[altered.length - 1] ^= 1;
    expect(() => openBody(altered, salt, 'cp_live_credential', aad)).toThrow();
    expect(() => openBody(Buffer.alloc(5), salt, 'cp_live_credential', aad)).toThrow();
  });
});
