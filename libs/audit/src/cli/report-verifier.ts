import canonicalize from 'canonicalize';
import { parse } from 'csv-parse';
import { createHash, createPublicKey, KeyObject, verify } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { keyIdOf } from '../signing/key-id';
import type { SignedManifest } from '../reports/audit-report.service';
import { CSV_COLUMNS } from '../reports/csv-columns';
import type { ChainedAuditEvent } from '../events/canonical';
import { ChainVerifier, VerificationResult } from '../verification/chain-verifier';

/** One check of an offline verification and whether it passed. */
export interface ReportCheck {
  name: 'signature' | 'file_sha256' | 'row_count' | 'chain';
  ok: boolean;
  detail: string;
}

export interface ReportVerification {
  ok: boolean;
  checks: ReportCheck[];
}

/**
 * Reads the public key to check a manifest with: a PEM (SPKI) file, or the JSON that
 * `GET /v1/audit/signing-keys` answers (the key is picked by the manifest's `keyId`).
 *
 * @throws Error when no Ed25519 key with that id is in the file
 */
export function publicKeyFrom(text: string, keyId: string, signedAt?: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const { keys } = JSON.parse(trimmed) as {
      keys: { keyId: string; publicKeyPem: string; retiredAt?: string | null }[];
    };
    const entry = keys.find((key) => key.keyId === keyId);
    if (!entry) throw new Error(`no key with id ${keyId} in the signing-keys file`);
    // A retired key signs nothing new: a manifest dated after its retirement is not its work.
    if (entry.retiredAt && signedAt && Date.parse(signedAt) > Date.parse(entry.retiredAt)) {
      throw new Error(`key ${keyId} was retired at ${entry.retiredAt}, before ${signedAt}`);
    }
    return createPublicKey(entry.publicKeyPem);
  }
  const key = createPublicKey(trimmed);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the public key is not Ed25519');
  return key;
}

function fromCsv(record: Record<string, string>): ChainedAuditEvent {
  const text = (name: (typeof CSV_COLUMNS)[number]) => (record[name] === '' ? null : record[name]);
  return {
    id: record.id,
    tenantId: text('tenantId'),
    sequence: Number(record.sequence),
    occurredAt: record.occurredAt,
    actor: {
      type: record.actorType as ChainedAuditEvent['actor']['type'],
      id: text('actorId'),
      email: text('actorEmail'),
      keyPrefix: text('actorKeyPrefix'),
      ip: text('actorIp'),
      userAgent: text('actorUserAgent'),
    },
    action: record.action,
    resource: { type: text('resourceType'), id: text('resourceId') },
    outcome: record.outcome as ChainedAuditEvent['outcome'],
    reason: text('reason'),
    requestId: text('requestId'),
    traceId: text('traceId'),
    changes: record.changes ? (JSON.parse(record.changes) as ChainedAuditEvent['changes']) : null,
    prevHash: record.prevHash,
    hash: record.hash,
  };
}

async function* eventsOf(path: string, format: 'jsonl' | 'csv'): AsyncGenerator<ChainedAuditEvent> {
  if (format === 'jsonl') {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) if (line) yield JSON.parse(line) as ChainedAuditEvent;
    return;
  }
  const parser = createReadStream(path).pipe(parse({ columns: true }));
  for await (const record of parser) yield fromCsv(record as Record<string, string>);
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Verifies a downloaded audit report offline, with only the public key: (1) the manifest's
 * Ed25519 signature over its RFC 8785 JSON (signature removed), (2) the file's SHA-256 against
 * the manifest, (3) the row count, and (4) the chain inside the file: every event's hash is
 * recomputed, and for a contiguous report each event must link to the one before, starting
 * from the manifest's `firstPrevHash` and ending at its `lastHash`. Streams the file: memory
 * stays flat for any size.
 */
export async function verifyReport(
  reportPath: string,
  manifestPath: string,
  publicKeyText: string,
): Promise<ReportVerification> {
  const checks: ReportCheck[] = [];
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as SignedManifest;
  const { signature, ...signed } = manifest;
  let key: KeyObject | undefined;
  try {
    key = publicKeyFrom(publicKeyText, manifest.keyId, manifest.generatedAt);
  } catch (error) {
    checks.push({ name: 'signature', ok: false, detail: (error as Error).message });
  }
  if (key) {
    const matchesId = keyIdOf(key) === manifest.keyId;
    const valid =
      matchesId &&
      verify(
        null,
        Buffer.from(canonicalize(signed) as string, 'utf8'),
        key,
        Buffer.from(signature ?? '', 'base64'),
      );
    checks.push({
      name: 'signature',
      ok: valid,
      detail: valid
        ? `Ed25519 signature by key ${manifest.keyId} is valid`
        : matchesId
          ? 'the manifest signature does not verify: the manifest was altered or signed by another key'
          : `the public key is not key ${manifest.keyId}`,
    });
  }
  const digest = await sha256Of(reportPath);
  checks.push({
    name: 'file_sha256',
    ok: digest === manifest.sha256,
    detail:
      digest === manifest.sha256
        ? `file SHA-256 ${digest} matches the manifest`
        : `file SHA-256 ${digest} differs from the manifest's ${manifest.sha256}`,
  });
  const verifier = manifest.contiguous
    ? new ChainVerifier({
        sequence: (manifest.firstSequence ?? 1) - 1,
        hash: manifest.firstPrevHash,
      })
    : undefined;
  let rows = 0;
  let chainFault: string | undefined;
  let lastHash: string | null = null;
  const events = eventsOf(reportPath, manifest.format);
  for (;;) {
    let event: ChainedAuditEvent;
    try {
      const next = await events.next();
      if (next.done) break;
      event = next.value;
    } catch (error) {
      // A garbled or truncated file is a failed check, not a crash.
      chainFault ??= `row ${rows + 1} cannot be read: ${(error as Error).message}`;
      break;
    }
    rows += 1;
    if (chainFault) continue;
    if (verifier) {
      if (!verifier.push(event)) {
        const result = verifier.result() as Extract<VerificationResult, { ok: false }>;
        chainFault = `sequence ${result.firstBadSequence}: ${result.reason} (${result.detail})`;
      }
    } else {
      const single = new ChainVerifier({ sequence: event.sequence - 1, hash: null });
      if (!single.push(event)) chainFault = `sequence ${event.sequence}: hash_mismatch`;
    }
    lastHash = event.hash;
  }
  checks.push({
    name: 'row_count',
    ok: rows === manifest.rowCount,
    detail: `${rows} rows in the file, ${manifest.rowCount} in the manifest`,
  });
  if (!chainFault && manifest.lastHash !== lastHash) {
    chainFault = `the last event's hash ${lastHash} is not the manifest's ${manifest.lastHash}`;
  }
  checks.push({
    name: 'chain',
    ok: !chainFault,
    detail:
      chainFault ??
      (manifest.contiguous
        ? `${rows} events verify as one chain from sequence ${manifest.firstSequence} to ${manifest.lastSequence}`
        : `${rows} events each verify (filtered report: links between them are not consecutive)`),
  });
  return { ok: checks.every((check) => check.ok), checks };
}
