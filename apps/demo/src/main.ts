/**
 * `npm run demo`: the whole product end to end against what `npm start` runs (README, Demo).
 *
 * Reads the same environment as `npm start`: `PORT` and `GATEWAY_PORT` (the api and gateway on
 * 127.0.0.1; or `DEMO_API_URL`, `DEMO_GATEWAY_URL`), `BOOTSTRAP_ADMIN_TOKEN` (or
 * `DEMO_ADMIN_KEY`, or `--admin-key <key>`: the platform admin key `npm start` printed), and
 * `DNS_RESOLVERS` (the demo serves the tenant's DNS TXT record there; default
 * 127.0.0.1:15353). Writes the audit report it verifies under `.local/demo/`.
 * Exit status 0 when every step went as told, 1 otherwise.
 */
import { TestDnsServer } from '@app/saml-idp';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runDemo } from './scenario';
import { UnexpectedAnswer } from './http-client';

const DEFAULT_DNS = '127.0.0.1:15353';

async function main(argv: string[]): Promise<number> {
  const flag = argv.indexOf('--admin-key');
  const adminKey =
    (flag !== -1 ? argv[flag + 1] : undefined) ??
    process.env.DEMO_ADMIN_KEY ??
    process.env.BOOTSTRAP_ADMIN_TOKEN;
  const apiUrl = process.env.DEMO_API_URL ?? `http://127.0.0.1:${process.env.PORT || 3000}`;
  const gatewayUrl =
    process.env.DEMO_GATEWAY_URL ?? `http://127.0.0.1:${process.env.GATEWAY_PORT || 3001}`;
  if (!adminKey) {
    process.stderr.write(
      'The demo needs the platform admin key: set BOOTSTRAP_ADMIN_TOKEN as for `npm start`, or pass\n' +
        '`npm run demo -- --admin-key cp_live_...` with the key the first `npm start` printed.\n',
    );
    return 2;
  }
  const ready = await fetch(`${apiUrl}/health/ready`).then(
    (r) => r.ok,
    () => false,
  );
  if (!ready) {
    process.stderr.write(
      `The api does not answer at ${apiUrl}/health/ready: is \`npm start\` running?\n`,
    );
    return 1;
  }
  const [dnsAddress] = (process.env.DNS_RESOLVERS || DEFAULT_DNS).split(',');
  const [host, port] = dnsAddress.trim().split(':');
  if (host !== '127.0.0.1' || !port) {
    process.stderr.write(
      `DNS_RESOLVERS must start with 127.0.0.1:<port>, where the demo serves its DNS (got ${dnsAddress}).\n`,
    );
    return 2;
  }
  const dns = await new TestDnsServer().start(Number(port));
  const repoRoot = resolve(__dirname, '../../..');
  const workDir = join(repoRoot, '.local/demo', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(workDir, { recursive: true });
  process.stdout.write(
    `Control-plane demo: api ${apiUrl}, gateway ${gatewayUrl}, DNS for the customer's domain on ${dnsAddress}\n`,
  );
  try {
    await runDemo({
      apiUrl,
      gatewayUrl,
      adminKey,
      publishTxt: (name, value) => dns.publishTxt(name, value),
      workDir,
      repoRoot,
    });
    return 0;
  } catch (error) {
    if (error instanceof UnexpectedAnswer && error.answer.status === 401) {
      process.stderr.write(
        '\nThe admin key was refused (401). The bootstrap key is created only while the platform has\n' +
          'no platform admin: use the key the first `npm start` printed (--admin-key), or start on a\n' +
          'fresh database with BOOTSTRAP_ADMIN_TOKEN set.\n',
      );
    }
    process.stderr.write(`\nThe demo stopped: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await dns.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
