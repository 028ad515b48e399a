import { loginCookieOptions, loginNonceHash, newLoginNonce, sameBrowser } from './login-binding';

describe('login binding (the cp_saml_login cookie)', () => {
  it('makes 256-bit base64url nonces, a new one each time', () => {
    const nonce = newLoginNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(nonce, 'base64url')).toHaveLength(32);
    expect(newLoginNonce()).not.toBe(nonce);
  });

  it('matches the nonce whose hash was stored, and nothing else', () => {
    const nonce = newLoginNonce();
    const stored = loginNonceHash(nonce);
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain(nonce);
    expect(sameBrowser(stored, nonce)).toBe(true);
    expect(sameBrowser(stored, newLoginNonce())).toBe(false);
    expect(sameBrowser(stored, undefined)).toBe(false);
    expect(sameBrowser(stored, '')).toBe(false);
    expect(sameBrowser(stored, `${nonce}x`)).toBe(false);
    // The stored hash itself is not a cookie that matches.
    expect(sameBrowser(stored, stored)).toBe(false);
  });

  it('is Secure and SameSite=None on the tenant SSO path, for the request lifetime', () => {
    expect(loginCookieOptions('acme', 600_000)).toEqual({
      httpOnly: true,
      secure: true,
      sameSite: 'none',
      path: '/sso/saml/acme',
      maxAge: 600_000,
    });
    expect(loginCookieOptions('acme')).not.toHaveProperty('maxAge');
  });
});
