import { IdpUser, TestApp } from '@app/testing';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
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

/**
 * Builds the console from its sources into a directory of this Jest worker (vite, about a
 * second), so the browser tests never run against a stale `dist/`.
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
        join(ROOT, 'apps', 'console', 'vite.config.ts'),
        '--outDir',
        outDir,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
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

/** A headless Chromium of its own, with a fresh profile (user data dir) removed at close. */
export async function openBrowser(): Promise<Browser> {
  requireChromium();
  const profile = await mkdtemp(join(tmpdir(), 'cp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
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
 * Plays the tenant's IdP inside the browser: requests to its (unresolvable) SSO URL are answered
 * here with what a real IdP sends after the person authenticated, an auto-submitting HTML form
 * that posts the signed SAMLResponse (made by the independent samlify IdP of libs/testing for
 * the AuthnRequest the browser carried) and the RelayState to our ACS.
 */
export async function actAsIdp(context: BrowserContext, sso: SsoTenant, user: IdpUser) {
  const idpOrigin = new URL(sso.idp.ssoUrl).origin;
  await context.route(
    (url) => url.origin === idpOrigin,
    async (route) => {
      const request = sso.idp.readAuthnRequest(route.request().url());
      const samlResponse = await sso.idp.response(user, {
        acsUrl: request.acsUrl ?? sso.acsUrl,
        audience: request.issuer,
        inResponseTo: request.id,
      });
      const field = (name: string, value: string) =>
        `<input type="hidden" name="${name}" value="${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">`;
      await route.fulfill({
        status: 200,
        contentType: 'text/html',
        body:
          `<!doctype html><html><body onload="document.forms[0].submit()">` +
          `<form method="post" action="${sso.acsUrl}">` +
          field('SAMLResponse', samlResponse) +
          (request.relayState ? field('RelayState', request.relayState) : '') +
          `<noscript><button>Continue</button></noscript></form></body></html>`,
      });
    },
  );
}

/** A full-page screenshot of a main screen, for people reviewing the console. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
