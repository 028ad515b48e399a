import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Binding of an SP-initiated sign-in to the browser that started it, against login CSRF (OWASP
 * CSRF Prevention Cheat Sheet, "Login CSRF"): without it, anyone holding a valid response to one
 * of our AuthnRequests (their own, from their own IdP account) could post it from a victim's
 * browser and sign the victim in as themselves. `InResponseTo` (SAML profiles §4.1.4.3) proves
 * the response answers a request of ours; this proves the request was made by this browser.
 *
 * The login route makes a nonce (256 random bits), stores its SHA-256 with the AuthnRequest id
 * in Redis and gives the nonce to the browser in the {@link LOGIN_COOKIE} cookie; the ACS
 * accepts a response to that request only from a browser presenting the nonce. The cookie
 * reaches the ACS on the IdP's cross-site POST (SAML bindings §3.5, HTTP-POST: an
 * auto-submitted form), so it is `SameSite=None`, which browsers keep only with `Secure`
 * (draft-ietf-httpbis-rfc6265bis, Storage Model: a `SameSite=None` cookie without `Secure` is
 * ignored). So it is `Secure` whatever `SESSION_COOKIE_SECURE` says: browsers keep it over
 * HTTPS and on loopback (`http://localhost`, `http://127.0.0.1` are potentially trustworthy
 * origins, W3C Secure Contexts), which is where `PUBLIC_URL` may be plain HTTP. Its path is the
 * tenant's SSO routes (`/sso/saml/{slug}`), so logins to two tenants in one browser do not meet.
 */
export const LOGIN_COOKIE = 'cp_saml_login';

const NONCE = /^[A-Za-z0-9_-]{43}$/;

/** A fresh login nonce: 256 random bits, base64url (43 characters). */
export function newLoginNonce(): string {
  return randomBytes(32).toString('base64url');
}

/** What Redis keeps of a nonce: its SHA-256, hex (the cookie itself is never stored). */
export function loginNonceHash(nonce: string): string {
  return createHash('sha256').update(nonce).digest('hex');
}

/**
 * Whether `cookie` (the {@link LOGIN_COOKIE} value the browser sent, if any) is the nonce whose
 * hash `stored` is. Constant-time in the hash; false for a missing or malformed cookie.
 */
export function sameBrowser(stored: string, cookie: string | undefined): boolean {
  if (cookie === undefined || !NONCE.test(cookie)) return false;
  const presented = Buffer.from(loginNonceHash(cookie), 'hex');
  const expected = Buffer.from(stored, 'hex');
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

/**
 * Attributes of the {@link LOGIN_COOKIE} cookie of tenant `slug` (Express's `res.cookie`
 * options): HttpOnly, Secure, SameSite=None, path `/sso/saml/{slug}` (its login and ACS), living
 * as long as the AuthnRequest id it names (`maxAgeMs`, `SAML_REQUEST_TTL_MS`); without
 * `maxAgeMs`, the attributes to clear it with.
 */
export function loginCookieOptions(
  slug: string,
  maxAgeMs?: number,
): {
  httpOnly: true;
  secure: true;
  sameSite: 'none';
  path: string;
  maxAge?: number;
} {
  return {
    httpOnly: true,
    secure: true,
    sameSite: 'none',
    path: `/sso/saml/${slug}`,
    ...(maxAgeMs === undefined ? {} : { maxAge: maxAgeMs }),
  };
}
