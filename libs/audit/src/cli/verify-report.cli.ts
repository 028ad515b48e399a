/**
 * `npm run audit:verify -- <report-file> <manifest-file> [--public-key <pem-or-signing-keys.json>]`
 *
 * Verifies a downloaded audit report offline (no network, no database): the manifest signature,
 * the file hash, the row count and the hash chain inside the file. The public key is a PEM file
 * or the saved answer of `GET /v1/audit/signing-keys`; default `./signing-keys.json`.
 * Exit status 0 when every check passes, 1 when one fails, 2 on bad usage.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { verifyReport } from './report-verifier';

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  let keyPath = 'signing-keys.json';
  const keyFlag = args.indexOf('--public-key');
  if (keyFlag !== -1) {
    keyPath = args[keyFlag + 1];
    args.splice(keyFlag, 2);
  }
  const [report, manifest] = args;
  if (!report || !manifest || !keyPath) {
    process.stderr.write(
      'usage: npm run audit:verify -- <report-file> <manifest-file> [--public-key <pem-or-signing-keys.json>]\n',
    );
    return 2;
  }
  // Under `npm run`, the working directory is the repository; INIT_CWD is where the user was.
  const base = process.env.INIT_CWD ?? process.cwd();
  const result = await verifyReport(
    resolve(base, report),
    resolve(base, manifest),
    await readFile(resolve(base, keyPath), 'utf8'),
  );
  for (const check of result.checks) {
    process.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}\n`);
  }
  process.stdout.write(result.ok ? 'report verified\n' : 'report NOT verified\n');
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`audit:verify: ${error.message}\n`);
    process.exit(2);
  },
);
