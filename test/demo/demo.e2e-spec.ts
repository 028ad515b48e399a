import {
  platformAdminKey,
  retireEndpoints,
  retireFineTuningJobs,
  TestApp,
  TestDnsServer,
  freePort,
} from '@app/testing';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemoResult, runDemo } from '../../apps/demo/src/scenario';
import { startApi } from '../support/api';
import { startGateway } from '../support/gateway';
import { startWorker } from '../support/worker';

jest.setTimeout(240_000);

/** A port of 127.0.0.1 free now, so the api can listen where its PUBLIC_URL says. */
const origin = (t: TestApp) =>
  `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;

/**
 * `npm run demo` as a test (issue 13): the same scenario function against the real api, worker
 * and gateway of this Jest worker's database, over HTTP only, with the demo's own SAML IdP
 * (HTTPS) and DNS server. Each step's outcome is checked, not only that it ran.
 */
describe('the demo, end to end (npm run demo)', () => {
  let api: TestApp;
  let worker: TestApp;
  let gateway: TestApp;
  let dns: TestDnsServer;
  let workDir: string;
  let result: DemoResult;
  const lines: string[] = [];
  const training = readFileSync('apps/demo/data/support-train.jsonl', 'utf8');

  beforeAll(async () => {
    dns = await new TestDnsServer().start();
    workDir = await mkdtemp(join(tmpdir(), 'cp-demo-'));
    const port = await freePort();
    api = await startApi({
      port,
      env: { DNS_RESOLVERS: dns.address, PUBLIC_URL: `http://127.0.0.1:${port}` },
    });
    worker = await startWorker({
      env: {
        FINE_TUNING_STEP_DELAY_MS: '2',
        FINE_TUNING_SWEEP_INTERVAL_MS: '1000',
        ENDPOINT_RECONCILE_INTERVAL_MS: '500',
        // SLA "minutes" of one second, so the live figures take this run's traffic at once.
        SLA_MINUTE_MS: '1000',
        SLA_PROBE_INTERVAL_MS: '500',
        SLA_EVALUATION_INTERVAL_MS: '500',
        SLA_SETTLE_DELAY_MS: '1000',
      },
    });
    gateway = await startGateway();
    result = await runDemo({
      apiUrl: origin(api),
      gatewayUrl: origin(gateway),
      adminKey: platformAdminKey(),
      publishTxt: (name, value) => dns.publishTxt(name, value),
      workDir,
      repoRoot: process.cwd(),
      print: (line) => lines.push(line),
      waitTimeoutMs: 90_000,
    });
  });
  afterAll(async () => {
    if (process.env.SHOW_DEMO) process.stdout.write(`${lines.join('\n')}\n`);
    await gateway?.close();
    await worker?.close();
    await retireEndpoints(api);
    await retireFineTuningJobs(api);
    await api?.close();
    await dns?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('prints numbered steps a person can follow', () => {
    const steps = lines.filter((line) => /^\n\s?\d+\. /.test(line));
    expect(steps.length).toBeGreaterThanOrEqual(14);
    expect(lines.at(-1)).toContain('Done');
  });

  it('sets up the region, the EU tenant and its active annual contract', () => {
    expect(result.regionCode).toBe('eu-north-1');
    expect(result.tenant.status).toBe('active');
    expect(result.contract).toMatchObject({
      status: 'active',
      quotaLines: 5,
      activatedBy: 'maria@operator.example',
    });
  });

  it('signs the account manager in through the operator IdP and three people through the tenant IdP (signed AuthnRequests checked there), each with the role their group maps to', () => {
    expect(result.roles).toEqual({
      manager: ['account_manager'],
      admin: ['tenant_admin'],
      engineer: ['ml_engineer'],
      officer: ['compliance_officer'],
    });
    expect(result.authnRequestsVerified).toBe(true);
  });

  it('fine-tunes on the shipped data to success, the loss falling, and serves the model', () => {
    expect(result.job.status).toBe('succeeded');
    expect(result.job.model).toMatch(/^ft:llama-3-8b-local:acme-rail-[0-9a-f]{6}:support:/);
    expect(result.job.trainedTokens).toBeGreaterThan(10_000);
    expect(result.job.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(result.job.epochs[2].trainLoss).toBeLessThan(result.job.epochs[0].trainLoss);
    expect(result.job.epochs.every((e) => e.validLoss !== null)).toBe(true);
    expect(result.endpoint.status).toBe('running');
  });

  it('answers chats through the gateway until the hard token line refuses with 429', () => {
    expect(result.chat.answered).toBeGreaterThan(3);
    // The fine-tuned model speaks its training data's words: some five words in a row of the
    // answer are in the shipped conversations (the base model never saw them).
    const words = result.chat.firstAnswer.split(/\s+/);
    const phrases = words.slice(0, -4).map((_, i) => words.slice(i, i + 5).join(' '));
    expect(phrases.some((phrase) => training.includes(phrase))).toBe(true);
    expect(result.chat.refusal).toMatchObject({
      status: 429,
      code: 'quota_exceeded',
      quotaLine: { metric: 'total_tokens', period: 'day', limit: 3000 },
    });
  });

  it('reads quota status and usage that agree with what happened', () => {
    const line = (metric: string) => result.quotas.find((q) => q.metric === metric)!;
    expect(line('total_tokens').used).toBeGreaterThan(0);
    expect(line('total_tokens').used).toBeLessThanOrEqual(3000);
    expect(line('training_tokens').used).toBe(result.job.trainedTokens);
    expect(line('dedicated_endpoints').used).toBe(1);
    const usage = (metric: string) => result.usage.find((u) => u.metric === metric)?.quantity;
    expect(usage('training_tokens')).toBe(result.job.trainedTokens);
    expect(usage('total_tokens')).toBe(line('total_tokens').used);
  });

  it('shows live SLA figures that hold the chat traffic: no errors, full availability, no credit', () => {
    expect(result.sla.month).toMatch(/^\d{4}-\d{2}$/);
    expect(result.sla.requests).toBeGreaterThanOrEqual(result.chat.answered);
    expect(result.sla).toMatchObject({
      errors: 0,
      badMinutes: 0,
      availability: 100,
      creditPercent: 0,
    });
  });

  it('refuses a region outside the profile (403) and hides another tenant’s contract (404)', () => {
    expect(result.denials.region).toEqual({ status: 403, code: 'region_not_allowed' });
    expect(result.denials.crossTenant.status).toBe(404);
  });

  it('produces a signed audit report that the offline CLI verifies, showing the denials', () => {
    expect(result.report.rowCount).toBeGreaterThan(20);
    expect(result.report.verifyExitCode).toBe(0);
    expect(result.report.verifyOutput).toContain('report verified');
    const reasons = result.report.deniedEvents.map((e) => e.reason ?? '');
    expect(reasons.some((r) => r.includes('region_not_allowed'))).toBe(true);
    expect(reasons.some((r) => r.includes('404'))).toBe(true);
  });
});
