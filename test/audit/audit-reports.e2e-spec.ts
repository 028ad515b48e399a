import { AuditRetentionService, AuditService, ChainedAuditEvent, verifyReport } from '@app/audit';
import { loadConfig } from '@app/core';
import {
  bearer,
  createTenant,
  createTenantKey,
  expectEventually,
  platformAdminKey,
  TestApp,
  writeAuditChain,
} from '@app/testing';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';

const admin = () => bearer(platformAdminKey());
const run = promisify(execFile);

describe('audit reports, exports and retention', () => {
  let api: TestApp;
  let worker: TestApp;
  let dir: string;

  beforeAll(async () => {
    api = await startApi({ captureLogs: true });
    worker = await startWorker();
    dir = await mkdtemp(join(tmpdir(), 'cp-audit-'));
  });
  afterAll(async () => {
    await worker.close();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function chainOf(n: number): Promise<string> {
    const tenant = await createTenant(api);
    const audit = api.app.get(AuditService);
    for (let i = 0; i < n; i += 1) {
      await audit.appendDetached({
        tenantId: tenant.id,
        actor: { type: 'system', id: 'test' },
        action: i % 2 ? 'test.odd' : 'test.even',
        resource: { type: 'test', id: String(i) },
        outcome: 'success',
        reason: i === 3 ? 'a "quoted", comma\nand newline' : undefined,
        changes: { after: { i, note: 'ünïcødé ✓' } },
      });
    }
    return tenant.id;
  }

  /** Requests a report at `reports` (a tenant's or the platform's route), waits, downloads it. */
  async function completedReport(reports: string, body: Record<string, unknown>) {
    const created = await api.http.post(reports).set(admin()).send(body).expect(202);
    expect(created.body).toMatchObject({ status: 'queued', format: body.format });
    const report = await expectEventually(
      async () => {
        const res = await api.http.get(`${reports}/${created.body.id}`).set(admin()).expect(200);
        expect(res.body.status).toBe('completed');
        return res.body;
      },
      { timeoutMs: 20_000 },
    );
    const file = join(dir, `${report.id}.${report.format}`);
    const download = await api.http
      .get(`${reports}/${report.id}/download`)
      .set(admin())
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    await writeFile(file, download.body as Buffer);
    const manifest = (
      await api.http.get(`${reports}/${report.id}/manifest`).set(admin()).expect(200)
    ).body;
    const manifestFile = join(dir, `${report.id}.manifest.json`);
    await writeFile(manifestFile, JSON.stringify(manifest));
    const keysFile = join(dir, 'signing-keys.json');
    await writeFile(keysFile, (await api.http.get('/v1/audit/signing-keys').expect(200)).text);
    return { report, manifest, file, manifestFile, keysFile };
  }

  const reportsOf = (tenantId: string) => `/v1/tenants/${tenantId}/audit/reports`;
  const window = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };

  it('produces a signed JSON Lines report that verifies offline, and catches tampering', async () => {
    const tenantId = await chainOf(25);
    const { report, manifest, file, manifestFile, keysFile } = await completedReport(
      reportsOf(tenantId),
      {
        ...window,
        format: 'jsonl',
      },
    );
    // The 25 events: the range ends when the report was requested (its own event comes after).
    expect(report).toMatchObject({ rowCount: 25, firstSequence: 1, lastSequence: 25 });
    expect(manifest).toMatchObject({
      reportId: report.id,
      tenantId,
      rowCount: 25,
      contiguous: true,
      firstPrevHash: '0'.repeat(64),
      algorithm: 'Ed25519',
      signature: expect.any(String),
    });
    const keys = await readFile(keysFile, 'utf8');
    expect(await verifyReport(file, manifestFile, keys)).toMatchObject({ ok: true });

    // The CLI, as a compliance officer runs it, with only the public keys.
    const cli = await run(
      'node_modules/.bin/ts-node',
      [
        '--transpile-only',
        'libs/audit/src/cli/verify-report.cli.ts',
        file,
        manifestFile,
        '--public-key',
        keysFile,
      ],
      { cwd: process.cwd() },
    );
    expect(cli.stdout).toContain('report verified');

    // An edited line breaks the file hash and the chain at that event.
    const lines = (await readFile(file, 'utf8')).split('\n');
    const edited = JSON.parse(lines[9]) as ChainedAuditEvent;
    lines[9] = JSON.stringify({ ...edited, action: 'test.forged' });
    const tampered = join(dir, 'tampered.jsonl');
    await writeFile(tampered, lines.join('\n'));
    const result = await verifyReport(tampered, manifestFile, keys);
    expect(result.ok).toBe(false);
    expect(result.checks.find((c) => c.name === 'file_sha256')!.ok).toBe(false);
    expect(result.checks.find((c) => c.name === 'chain')!.detail).toContain(
      'sequence 10: hash_mismatch',
    );
    await expect(
      run('node_modules/.bin/ts-node', [
        '--transpile-only',
        'libs/audit/src/cli/verify-report.cli.ts',
        tampered,
        manifestFile,
        '--public-key',
        keysFile,
      ]),
    ).rejects.toMatchObject({ code: 1 });

    // An edited manifest no longer carries a valid signature.
    const forgedManifest = join(dir, 'forged-manifest.json');
    await writeFile(forgedManifest, JSON.stringify({ ...manifest, rowCount: 24 }));
    const forged = await verifyReport(file, forgedManifest, keys);
    expect(forged.checks.find((c) => c.name === 'signature')!.ok).toBe(false);
  });

  it('produces a CSV report that verifies, quotes and unicode included', async () => {
    const tenantId = await chainOf(8);
    const { file, manifestFile, keysFile } = await completedReport(reportsOf(tenantId), {
      ...window,
      format: 'csv',
    });
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^id,tenantId,sequence,occurredAt,/);
    expect(await verifyReport(file, manifestFile, await readFile(keysFile, 'utf8'))).toMatchObject({
      ok: true,
    });
  });

  it('verifies each event of a filtered report on its own', async () => {
    const tenantId = await chainOf(10);
    const { manifest, file, manifestFile, keysFile } = await completedReport(reportsOf(tenantId), {
      ...window,
      format: 'jsonl',
      filters: { action: 'test.odd' },
    });
    expect(manifest).toMatchObject({ rowCount: 5, contiguous: false });
    const result = await verifyReport(file, manifestFile, await readFile(keysFile, 'utf8'));
    expect(result).toMatchObject({ ok: true });
  });

  it('refuses bad report requests and hides other tenants\u2019 reports', async () => {
    const tenantId = await chainOf(1);
    for (const [body, path] of [
      [{ ...window, format: 'xml' }, 'format'],
      [{ from: window.to, to: window.from, format: 'csv' }, 'to'],
      [{ from: 'yesterday', to: window.to, format: 'csv' }, 'from'],
      [{ ...window, format: 'csv', filters: { outcome: 'maybe' } }, 'filters.outcome'],
    ] as const) {
      const res = await api.http
        .post(`/v1/tenants/${tenantId}/audit/reports`)
        .set(admin())
        .send(body)
        .expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const { report } = await completedReport(reportsOf(tenantId), { ...window, format: 'jsonl' });
    const other = await createTenant(api);
    const officer = (await createTenantKey(api, other.id, ['compliance_officer'])).key;
    await api.http
      .get(`/v1/tenants/${tenantId}/audit/reports/${report.id}`)
      .set(bearer(officer))
      .expect(404);
    await api.http
      .get(`/v1/tenants/${other.id}/audit/reports/${report.id}`)
      .set(bearer(officer))
      .expect(404);
    const engineer = (await createTenantKey(api, tenantId, ['ml_engineer'])).key;
    await api.http
      .post(`/v1/tenants/${tenantId}/audit/reports`)
      .set(bearer(engineer))
      .send({ ...window, format: 'csv' })
      .expect(403);
  });

  it('still produces reports for an offboarded tenant (compliance outlives the contract)', async () => {
    const tenantId = await chainOf(3);
    await api.http
      .post(`/v1/tenants/${tenantId}/offboard`)
      .set(admin())
      .send({ reason: 'contract ended' })
      .expect(200);
    const { report, file, manifestFile, keysFile } = await completedReport(reportsOf(tenantId), {
      ...window,
      format: 'jsonl',
    });
    expect(report.rowCount).toBeGreaterThanOrEqual(4);
    expect(await verifyReport(file, manifestFile, await readFile(keysFile, 'utf8'))).toMatchObject({
      ok: true,
    });
    await api.http.get(`/v1/tenants/${tenantId}/audit/reports/not-a-uuid`).set(admin()).expect(404);
  });

  it("produces signed reports of the operator's platform chain for platform staff only", async () => {
    await createTenant(api); // a platform-chain event (tenant.create) at least
    const { report, file, manifestFile, keysFile } = await completedReport('/v1/audit/reports', {
      ...window,
      format: 'jsonl',
    });
    expect(report.rowCount).toBeGreaterThan(0);
    expect(await verifyReport(file, manifestFile, await readFile(keysFile, 'utf8'))).toMatchObject({
      ok: true,
    });
    const tenant = await createTenant(api);
    const tenantAdmin = (await createTenantKey(api, tenant.id, ['tenant_admin'])).key;
    await api.http.get(`/v1/audit/reports/${report.id}`).set(bearer(tenantAdmin)).expect(404);
    await api.http
      .post('/v1/audit/reports')
      .set(bearer(tenantAdmin))
      .send({ ...window, format: 'csv' })
      .expect(404);
    // A tenant's report is not reachable through the platform routes either.
    const theirs = await api.http
      .post(`/v1/tenants/${tenant.id}/audit/reports`)
      .set(admin())
      .send({ ...window, format: 'csv' })
      .expect(202);
    await api.http.get(`/v1/audit/reports/${theirs.body.id}`).set(admin()).expect(404);
  });

  it('streams an export and stops querying when the client goes away', async () => {
    const tenantId = await chainOf(3);
    const res = await api.http
      .get(`/v1/tenants/${tenantId}/audit/export?format=jsonl`)
      .set(admin())
      .expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(res.text.trim().split('\n')).toHaveLength(3);
    for (const bad of [
      'format=xml',
      'from=yesterday',
      'from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z',
    ]) {
      await api.http.get(`/v1/tenants/${tenantId}/audit/export?${bad}`).set(admin()).expect(400);
    }
    const stranger = await createTenant(api);
    const officer = (await createTenantKey(api, stranger.id, ['compliance_officer'])).key;
    await api.http.get(`/v1/tenants/${tenantId}/audit/export`).set(bearer(officer)).expect(404);

    // A long chain, written directly (valid hashes do not matter for streaming).
    const big = await createTenant(api);
    const client = new Client({ connectionString: loadConfig(process.env).DATABASE_URL });
    await client.connect();
    await client.query(
      `INSERT INTO audit_events (tenant_id, sequence, id, occurred_at, actor_type, action, outcome, prev_hash, hash)
       SELECT $1, s, gen_random_uuid(), now(), 'system', 'test.bulk', 'success', '\\x${'00'.repeat(32)}', '\\x${'00'.repeat(32)}'
         FROM generate_series(1, 40000) s`,
      [big.id],
    );
    await client.end();
    const address = api.http.get('/').url.replace(/\/$/, '');
    const aborted = new AbortController();
    const response = await fetch(`${address}/v1/tenants/${big.id}/audit/export`, {
      headers: { Authorization: `Bearer ${platformAdminKey()}` },
      signal: aborted.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    aborted.abort();
    await expectEventually(() => {
      const found = api.logs.find(
        (l) =>
          l.msg === 'audit export aborted by the client: query cancelled' && l.tenantId === big.id,
      );
      expect(found).toBeDefined();
    });
    // The COPY is gone from the server, not left running to the end.
    const watcher = new Client({ connectionString: loadConfig(process.env).DATABASE_URL });
    await watcher.connect();
    const { rows } = await watcher.query(
      `SELECT count(*)::int AS running FROM pg_stat_activity
        WHERE state = 'active' AND query LIKE 'COPY%' AND query LIKE $1`,
      [`%${big.id}%`],
    );
    await watcher.end();
    expect(rows[0].running).toBe(0);
    // And the connection went back to the pool usable: the next export works.
    const again = await api.http
      .get(`/v1/tenants/${tenantId}/audit/export?format=csv`)
      .set(admin())
      .expect(200);
    expect(again.text.split('\n')[0]).toMatch(/^id,tenantId,sequence/);
  });

  it('drops events past the tenant retention behind a signed checkpoint, and the rest still verifies', async () => {
    const tenantId = (await createTenant(api)).id;
    const old = 40;
    const superuser = new Client({ connectionString: loadConfig(process.env).DATABASE_URL });
    await superuser.connect();
    await writeAuditChain(superuser, tenantId, old, new Date(Date.now() - 10 * 86_400_000));
    await superuser.end();
    await api.http
      .put(`/v1/tenants/${tenantId}/compliance-profile`)
      .set(admin())
      .send({
        allowedRegions: [],
        allowedDataZones: [],
        allowedModelFamilies: [],
        dataClassification: 'internal',
        requiredCertifications: [],
        auditRetentionDays: 1,
      })
      .expect(200);
    const dropped = await worker.app.get(AuditRetentionService).run();
    expect(dropped[tenantId]).toBe(old);
    const after = await api.http
      .get(`/v1/tenants/${tenantId}/audit/events?order=asc`)
      .set(admin())
      .expect(200);
    // What remains: the profile change, and the chain's own record of the pruning.
    expect(after.body.data.map((e: ChainedAuditEvent) => [e.sequence, e.action])).toEqual([
      [old + 1, 'compliance_profile.update'],
      [old + 2, 'audit.retention'],
    ]);
    expect(after.body.data[1]).toMatchObject({
      actor: { type: 'system', id: 'audit-retention' },
      resource: { type: 'audit_checkpoint', id: String(old) },
    });
    await api.app.get(AuditService).appendDetached({
      tenantId,
      actor: { type: 'system', id: 'test' },
      action: 'test.after_retention',
      outcome: 'success',
    });
    const verified = await api.http
      .get(`/v1/tenants/${tenantId}/audit/verify`)
      .set(admin())
      .expect(200);
    expect(verified.body).toMatchObject({ ok: true, checked: 3, lastSequence: old + 3 });

    // A checkpoint not signed by a trusted key is named (the app role may insert checkpoints).
    const forger = new Client({ connectionString: loadConfig(process.env).DATABASE_URL });
    await forger.connect();
    await forger.query(
      `INSERT INTO audit_checkpoints (tenant_id, through_sequence, through_hash, through_occurred_at,
         dropped_count, key_id, signature)
       SELECT tenant_id, sequence, hash, occurred_at, sequence, 'forged', '\\x00'
         FROM audit_events WHERE tenant_id = $1 ORDER BY audit_events.sequence DESC LIMIT 1`,
      [tenantId],
    );
    await forger.end();
    const forged = await api.http
      .get(`/v1/tenants/${tenantId}/audit/verify`)
      .set(admin())
      .expect(200);
    expect(forged.body).toMatchObject({ ok: false, reason: 'bad_checkpoint' });
    // Tenants with the default retention kept everything.
    const other = await chainOf(2);
    const kept = await api.http.get(`/v1/tenants/${other}/audit/events`).set(admin()).expect(200);
    expect(kept.body.data.length).toBeGreaterThanOrEqual(2);
  });
});
