/**
 * What an enterprise customer's IT brings to single sign-on, simulated independently of the
 * product: a SAML 2.0 identity provider built on samlify (its own keys and certificates) and a
 * DNS server that publishes the TXT record proving the customer's email domain. Shared by the
 * tests (`@app/testing` re-exports it) and `npm run demo` (apps/demo). Development only: it
 * depends on devDependencies (samlify, dns2) and is not part of the production build.
 */
export * from './saml-idp';
export * from './dns-server';
