import {
  escapeXml,
  IdpUser,
  KeyAndCertificate,
  makeKeyAndCertificate,
  SamlIdp,
} from '@app/saml-idp';
import { randomBytes, timingSafeEqual, verify } from 'node:crypto';
import { createServer, Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A person in the demo IdP's directory: who they are, their groups, and their password. */
export interface DirectoryEntry extends IdpUser {
  password: string;
}

/** A service provider registered at the IdP, as an Okta admin adds an app from its metadata. */
interface RegisteredSp {
  entityId: string;
  acsUrl: string;
  /** The SP's signing certificate (PEM) from its metadata, to check signed AuthnRequests. */
  signingCertificatePem: string | null;
}

/** XML-DSig SigAlg URIs of the HTTP-Redirect binding → node:crypto algorithms. */
const SIG_ALGS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'RSA-SHA1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'RSA-SHA256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'RSA-SHA512',
};

/**
 * The demo's identity provider: the company's IdP in the story, served over HTTPS on
 * 127.0.0.1 (an ephemeral port unless `port` is given) with its own TLS certificate and its own
 * SAML signing key, both made at start. SAML comes from {@link SamlIdp} (samlify, independent of
 * the product's node-saml), shaped like Okta (email, firstName, lastName, groups).
 *
 * - `GET /metadata`: the IdP's metadata, for the SAML connection.
 * - `GET /sso` (HTTP-Redirect binding): reads the AuthnRequest; without a sign-in here it shows
 *   a login form, then answers an auto-submitting form that POSTs the signed Response to the
 *   registered ACS of the requesting SP (never to a URL taken from the request).
 * - `POST /login`: checks the directory's username and password, sets `idp_session`, and goes
 *   back to `/sso`.
 *
 * A signed AuthnRequest is checked against the SP's signing certificate from its metadata
 * (refused with 400 when it does not verify).
 */
export class DemoIdp {
  /** The TLS certificate (PEM) browsers must trust to reach the IdP. */
  readonly tls: KeyAndCertificate;
  saml!: SamlIdp;
  private server!: Server;
  private readonly sessions = new Map<string, string>();
  private readonly serviceProviders = new Map<string, RegisteredSp>();
  /** What happened, for the demo's narration: the last AuthnRequest's issuer and id. */
  lastRequest: { issuer: string; id: string; signatureChecked: boolean } | null = null;

  private constructor(private readonly directory: Record<string, DirectoryEntry>) {
    this.tls = makeKeyAndCertificate('demo idp tls', {}, ['127.0.0.1']);
  }

  /** Starts the IdP. `directory`: username → person. */
  static async start(directory: Record<string, DirectoryEntry>, port = 0): Promise<DemoIdp> {
    const idp = new DemoIdp(directory);
    idp.server = createServer(
      { key: idp.tls.privateKeyPem, cert: idp.tls.certificatePem },
      (req, res) =>
        idp
          .handle(req, res)
          .catch((error: Error) => idp.page(res, 500, 'Error', escapeXml(error.message))),
    );
    await new Promise<void>((resolve) => idp.server.listen(port, '127.0.0.1', resolve));
    const origin = `https://127.0.0.1:${(idp.server.address() as AddressInfo).port}`;
    idp.saml = new SamlIdp('okta', { entityId: `${origin}/metadata`, ssoUrl: `${origin}/sso` });
    return idp;
  }

  get metadataUrl(): string {
    return this.saml.entityId;
  }

  /** The work email of directory user `username`. @throws for a username not in the directory */
  emailOf(username: string): string {
    const entry = this.directory[username];
    if (!entry) throw new Error(`no user ${username} in the demo IdP's directory`);
    return entry.email;
  }

  /**
   * Registers an SP from its metadata XML (entity ID and HTTP-POST ACS), as an IdP admin adds
   * the app. @throws when the metadata lacks either
   */
  registerServiceProvider(metadataXml: string): RegisteredSp {
    const entityId = /entityID="([^"]+)"/.exec(metadataXml)?.[1];
    const acsUrl =
      /<(?:\w+:)?AssertionConsumerService[^>]*Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-POST"[^>]*Location="([^"]+)"/.exec(
        metadataXml,
      )?.[1] ??
      /<(?:\w+:)?AssertionConsumerService[^>]*Location="([^"]+)"[^>]*Binding="urn:oasis:names:tc:SAML:2\.0:bindings:HTTP-POST"/.exec(
        metadataXml,
      )?.[1];
    if (!entityId || !acsUrl) throw new Error('SP metadata without entityID or HTTP-POST ACS');
    // The first certificate of a KeyDescriptor that is not encryption-only.
    const signing =
      /<(?:\w+:)?KeyDescriptor(?![^>]*use="encryption")[^>]*>[\s\S]*?<(?:\w+:)?X509Certificate>([^<]+)</.exec(
        metadataXml,
      )?.[1];
    const sp = {
      entityId: decodeXml(entityId),
      acsUrl: decodeXml(acsUrl),
      signingCertificatePem: signing
        ? `-----BEGIN CERTIFICATE-----\n${signing.replace(/\s+/g, '').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`
        : null,
    };
    this.serviceProviders.set(sp.entityId, sp);
    return sp;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.saml.entityId);
    if (req.method === 'GET' && url.pathname === '/metadata') {
      res.writeHead(200, { 'Content-Type': 'application/samlmetadata+xml' });
      res.end(this.saml.metadataXml());
      return;
    }
    if (req.method === 'GET' && url.pathname === '/sso') return this.sso(req, res, url);
    if (req.method === 'POST' && url.pathname === '/login') return this.login(req, res);
    this.page(res, 404, 'Not found', 'Nothing here.');
  }

  private sso(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const request = this.saml.readAuthnRequest(url.href);
    const sp = this.serviceProviders.get(request.issuer);
    if (!sp) {
      this.page(
        res,
        400,
        'Unknown application',
        `No application ${escapeXml(request.issuer)} is set up here.`,
      );
      return;
    }
    const username = this.sessions.get(cookieOf(req, 'idp_session') ?? '');
    if (!username) {
      const back = escapeXml(`${url.pathname}${url.search}`);
      this.page(
        res,
        200,
        'Sign in',
        `<form method="post" action="/login"><input name="username" value=""><input name="password" type="password" value=""><input type="hidden" name="continue" value="${back}"><button>Sign in</button></form>`,
      );
      return;
    }
    const signatureChecked = request.signed && sp.signingCertificatePem !== null;
    if (signatureChecked && !redirectSignatureValid(url, sp.signingCertificatePem!)) {
      this.page(res, 400, 'Bad request', 'The AuthnRequest signature does not verify.');
      return;
    }
    this.lastRequest = { issuer: request.issuer, id: request.id, signatureChecked };
    const xml = this.saml.responseXml(this.directory[username], {
      acsUrl: sp.acsUrl,
      audience: sp.entityId,
      inResponseTo: request.id,
    });
    const relay = request.relayState
      ? `<input type="hidden" name="RelayState" value="${escapeXml(request.relayState)}">`
      : '';
    this.page(
      res,
      200,
      'Signing you in',
      `<form method="post" action="${escapeXml(sp.acsUrl)}"><input type="hidden" name="SAMLResponse" value="${Buffer.from(xml).toString('base64')}">${relay}</form><script>document.forms[0].submit()</script>`,
    );
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await bodyOf(req));
    const username = form.get('username') ?? '';
    const entry = this.directory[username];
    const given = Buffer.from(form.get('password') ?? '');
    const expected = Buffer.from(entry?.password ?? '');
    if (!entry || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.page(res, 401, 'Sign in', 'Wrong username or password.');
      return;
    }
    const session = randomBytes(24).toString('base64url');
    this.sessions.set(session, username);
    const back = form.get('continue') ?? '/';
    res.writeHead(303, {
      // Only our own /sso may follow a sign-in (no open redirect).
      Location: back.startsWith('/sso?') ? back : '/',
      'Set-Cookie': `idp_session=${session}; Path=/; HttpOnly; Secure; SameSite=None`,
    });
    res.end();
  }

  private page(res: ServerResponse, status: number, title: string, body: string): void {
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`,
    );
  }
}

/**
 * Checks an HTTP-Redirect binding signature (SAML bindings §3.4.4.1): over the query's
 * `SAMLRequest`, `RelayState` (if any) and `SigAlg` exactly as they were URL-encoded, in that
 * order, with the SP's certificate.
 */
export function redirectSignatureValid(url: URL, certificatePem: string): boolean {
  const raw = new Map(
    url.search
      .slice(1)
      .split('&')
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  const algorithm = SIG_ALGS[url.searchParams.get('SigAlg') ?? ''];
  const signature = url.searchParams.get('Signature');
  if (!algorithm || !signature) return false;
  const signed = ['SAMLRequest', 'RelayState', 'SigAlg']
    .filter((name) => raw.has(name))
    .map((name) => `${name}=${raw.get(name)}`)
    .join('&');
  return verify(algorithm, Buffer.from(signed), certificatePem, Buffer.from(signature, 'base64'));
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) req.destroy(new Error('form too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function decodeXml(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}
