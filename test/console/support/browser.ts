import { escapeXml, IdpUser, makeKeyAndCertificate, TestApp } from '@app/testing';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BrowserContext, chromium, Page } from 'playwright-core';
import type { SsoTenant } from '../../sso/support/sso-fixture';
import { startApi } from '../../support/api';

const ROOT = join(__dirname, '..', '..', '..');

/** Debian's `chromium` package; `npm test` installs it where it can (scripts/services.mjs). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Headless, sandbox-less (root in CI), and quiet: nothing phones home or updates itself. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the tests leave screenshots of the main screens (git-ignored, under .local/). */
export const SCREENSHOTS = join(ROOT, '.local', 'console-screenshots');

/**
 * Fails loudly when there is no Chromium: a browser test that cannot run must not pass. Nothing
 * here downloads a browser (playwright-core never does).
 */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: the console's browser tests need it. Install Debian's ` +
        '`chromium` package (apt-get install chromium; `npm test` does so when run as root on ' +
        'Debian/Ubuntu) or set CHROMIUM_PATH.',
    );
  }
}

let built: Promise<string> | undefined;

/** Removes this test file's console build (call in afterAll). */
export async function removeConsoleBuild(): Promise<void> {
  if (!built) return;
  const dir = await built.catch(() => undefined);
  built = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
}

/**
 * Builds the console from its sources into a temporary directory of this test file (vite, a
 * second or two), so the browser tests never run against a stale `dist/`. A production build, as
 * `npm run build` makes: Jest's `NODE_ENV=test` would otherwise give React's development build,
 * whose StrictMode double-mounting moves a dialog's initial focus off its `autoFocus` field.
 */
export function buildConsole(): Promise<string> {
  built ??= (async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'cp-console-'));
    await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        '--config',
        join(ROOT, 'apps', 'console', 'vite.config.mts'),
        '--outDir',
        outDir,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, maxBuffer: 16 * 1024 * 1024 },
    );
    return outDir;
  })();
  return built;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The real api serving a fresh console build, on a port known in advance so that `PUBLIC_URL`
 * (SAML URLs, the CSRF origin) is where the browser really reaches it; plain HTTP, so the
 * session cookie is not `Secure`.
 */
export async function startConsoleApi(
  env: Record<string, string> = {},
): Promise<{ t: TestApp; origin: string }> {
  const consoleDir = await buildConsole();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const t = await startApi({
    port,
    env: {
      PUBLIC_URL: origin,
      SESSION_COOKIE_SECURE: 'false',
      CONSOLE_DIR: consoleDir,
      ...env,
    },
  });
  return { t, origin };
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * A headless Chromium of its own, with a fresh profile (user data dir) removed at close; with
 * `idp`, the IdPs' host names lead to it.
 */
export async function openBrowser(idp?: BrowserIdp): Promise<Browser> {
  requireChromium();
  const profile = await mkdtemp(join(tmpdir(), 'cp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: idp ? [...CHROMIUM_FLAGS, idp.hostResolverRule] : CHROMIUM_FLAGS,
    // Only the test IdP's self-signed certificate; our api is plain HTTP on loopback.
    ignoreHTTPSErrors: Boolean(idp),
    acceptDownloads: true,
    viewport: { width: 1366, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The tenants' IdPs as the browser meets them: an HTTPS server on loopback that the browser
 * reaches under the IdPs' own host names (`*.okta.example`, mapped by Chromium's
 * `--host-resolver-rules`; its certificate is self-signed, so the browser context ignores TLS
 * errors). Its sign-in page reads the AuthnRequest the browser carried, has the independent
 * samlify IdP of libs/testing sign a response for the person registered for that IdP, and posts
 * it with the RelayState to our ACS in an auto-submitting form, as a real IdP does once the
 * person has authenticated. (Playwright's request routing cannot stand in: it does not see the
 * request a redirect leads to.)
 */
export class BrowserIdp {
  private readonly people = new Map<string, { sso: SsoTenant; user: IdpUser }>();
  private constructor(private readonly server: https.Server) {}

  static async start(): Promise<BrowserIdp> {
    const { privateKeyPem, certificatePem } = makeKeyAndCertificate('test idp tls');
    let idp: BrowserIdp | undefined = undefined;
    const server = https.createServer({ key: privateKeyPem, cert: certificatePem }, (req, res) =>
      idp!.signInPage(req, res).catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
      }),
    );
    idp = new BrowserIdp(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return idp;
  }

  /** From now on, `sso`'s IdP signs in `user` (whoever comes to its sign-in page). */
  signs(sso: SsoTenant, user: IdpUser): void {
    this.people.set(new URL(sso.idp.ssoUrl).host, { sso, user });
  }

  /** The Chromium flag that sends the IdPs' host names here. */
  get hostResolverRule(): string {
    const { port } = this.server.address() as net.AddressInfo;
    return `--host-resolver-rules=MAP *.okta.example 127.0.0.1:${port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async signInPage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    const person = this.people.get(host);
    if (!person || req.method !== 'GET' || !req.url?.includes('SAMLRequest=')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not an IdP sign-in request');
      return;
    }
    const { sso, user } = person;
    const request = sso.idp.readAuthnRequest(`https://${host}${req.url}`);
    const samlResponse = await sso.idp.response(user, {
      acsUrl: request.acsUrl ?? sso.acsUrl,
      audience: request.issuer,
      inResponseTo: request.id,
    });
    const field = (name: string, value: string) =>
      `<input type="hidden" name="${name}" value="${escapeXml(value)}">`;
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        `<!doctype html><html><head><title>Test IdP</title></head>` +
          `<body onload="document.forms[0].submit()"><form method="post" action="${escapeXml(sso.acsUrl)}">` +
          field('SAMLResponse', samlResponse) +
          (request.relayState ? field('RelayState', request.relayState) : '') +
          `<noscript><button>Continue</button></noscript></form></body></html>`,
      );
  }
}

/** A full-page screenshot of a main screen, for people reviewing the console. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  // Transitions finished (a dialog still fading in would be half transparent).
  await page.screenshot({
    path: join(SCREENSHOTS, `${name}.png`),
    fullPage: true,
    animations: 'disabled',
  });
}

/** The page fits the window's width: nothing makes it scroll sideways. */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement!.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
}
