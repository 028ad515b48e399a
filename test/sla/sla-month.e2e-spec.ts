import { asTenantId, TenantDb } from '@app/authz';
import { SlaClock, SlaReportManifest, SlaReportService } from '@app/sla';
import {
  accountManagerFor,
  bearer,
  createEndpoint,
  createTenantKey,
  deployableTenant,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import canonicalize from 'canonicalize';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());
const at = (iso: string) => new Date(iso);
const SLA = {
  availabilityTarget: 99.95,
  latencyP95Ms: 800,
  ttfbP95Ms: 300,
  creditTiers: [
    { below: 99.95, creditPercent: 10 },
    { below: 99, creditPercent: 25 },
    { below: 95, creditPercent: 100 },
  ],
};

/**
 * Month computations with an injected clock (issue 11, "Must show"): October 2026 (31 days) in
 * America/New_York (the month runs 2026-10-01T04:00Z → 2026-11-01T04:00Z), one endpoint for the
 * whole month and one created mid-month, a maintenance window, minutes on both sides of the
 * local month edges, the live (partial) month, freezing and the signed manifest.
 */
describe('SLA month reports (injected clock)', () => {
  let api: TestApp;
  let clock: SlaClock;
  let tenantId: string;
  let whole: string;
  let midMonth: string;
  let windowId: string;

  const sql = (query: string, params: unknown[] = []) =>
    api.app.get(TenantDb).asPlatform('test: SLA fixtures', (m) => m.query(query, params));

  /** Minute rows as the rollup would write them. */
  async function minutes(
    endpointId: string,
    starts: string[],
    figures: { requests?: number; errors?: number; probes?: number; probeFailures?: number },
  ): Promise<void> {
    for (const start of starts) {
      await sql(
        `INSERT INTO sla_minutes (tenant_id, endpoint_id, minute, requests, errors, probes, probe_failures)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          tenantId,
          endpointId,
          at(start),
          figures.requests ?? 0,
          figures.errors ?? 0,
          figures.probes ?? 2,
          figures.probeFailures ?? 0,
        ],
      );
    }
  }
  const range = (from: string, count: number) =>
    Array.from({ length: count }, (_, i) =>
      new Date(at(from).getTime() + i * 60_000).toISOString(),
    );

  async function endpoint(name: string, createdAt: string): Promise<string> {
    const id = await createEndpoint(api, tenantId, { name });
    await sql(`UPDATE endpoints SET created_at = $2 WHERE id = $1`, [id, at(createdAt)]);
    return id;
  }

  beforeAll(async () => {
    api = await startApi();
    clock = api.app.get(SlaClock);
    tenantId = await deployableTenant(api, {
      tenant: { billingTimeZone: 'America/New_York' },
      contract: {
        termStart: at('2026-09-01T04:00:00Z'),
        fields: { sla: SLA, committedSpendMinor: 120_000_000, currency: 'USD' },
      },
    });
    whole = await endpoint('whole', '2026-09-20T00:00:00Z');
    midMonth = await endpoint('mid', '2026-10-16T04:00:00Z');

    // Declared in advance (the clock is before it), two hours on Oct 10.
    clock.set(at('2026-10-05T00:00:00Z'));
    const declared = await api.http
      .post(`/v1/tenants/${tenantId}/maintenance-windows`)
      .set(admin())
      .send({
        startsAt: '2026-10-10T00:00:00Z',
        endsAt: '2026-10-10T02:00:00Z',
        reason: 'GPU driver upgrade',
      })
      .expect(201);
    windowId = declared.body.id;

    // The whole-month endpoint: 30 minutes of failed probes on Oct 12, two inside the window,
    // one just before the local month (Sept 30, 23:59 in New York) and one on its last minute.
    await minutes(whole, range('2026-10-12T10:00:00Z', 30), { probeFailures: 1 });
    await minutes(whole, ['2026-10-10T00:30:00Z', '2026-10-10T01:59:00Z'], { probeFailures: 1 });
    await minutes(whole, ['2026-10-01T03:59:00Z', '2026-11-01T03:59:00Z'], { probeFailures: 1 });
    await minutes(whole, range('2026-10-13T00:00:00Z', 5), { requests: 10, errors: 0 });
    // The mid-month endpoint: 10 minutes above the 5 % error rate, one exactly at it (good),
    // and a failed probe before it existed (not counted).
    await minutes(midMonth, range('2026-10-20T00:00:00Z', 10), { requests: 100, errors: 6 });
    await minutes(midMonth, ['2026-10-20T00:10:00Z'], { requests: 100, errors: 5 });
    await minutes(midMonth, ['2026-10-15T12:00:00Z'], { probeFailures: 1 });
  });
  afterAll(async () => {
    clock.set(null);
    await retireEndpoints(api);
    await api.close();
  });

  it('computes a finished 31-day month: endpoint-minutes, maintenance, local month edges, credit', async () => {
    clock.set(at('2026-11-15T00:00:00Z'));
    const res = await api.http.get(`/v1/tenants/${tenantId}/sla?month=2026-10`).set(admin());
    expect(res.status).toBe(200);
    const r = res.body;
    expect(r).toMatchObject({
      month: '2026-10',
      timeZone: 'America/New_York',
      from: '2026-10-01T04:00:00.000Z',
      to: '2026-11-01T04:00:00.000Z',
      measuredTo: '2026-11-01T04:00:00.000Z',
      final: false,
      availabilityTarget: 99.95,
      currency: 'USD',
    });
    const byId = Object.fromEntries(
      r.endpoints.map((e: { endpointId: string }) => [e.endpointId, e]),
    );
    // 31 days × 1440; 120 minutes of maintenance; 30 + the local month's last minute bad.
    expect(byId[whole]).toMatchObject({
      minutes: 44_640,
      excludedMinutes: 120,
      badMinutes: 31,
      goodMinutes: 44_489,
      availability: Math.floor((44_489 / 44_520) * 100 * 10_000) / 10_000,
      requests: 50,
    });
    // From Oct 16 local midnight: 16 days; the window was before it.
    expect(byId[midMonth]).toMatchObject({
      minutes: 23_040,
      excludedMinutes: 0,
      badMinutes: 10,
      goodMinutes: 23_030,
      requests: 1100,
      errors: 65,
    });
    expect(r).toMatchObject({
      minutes: 67_680,
      excludedMinutes: 120,
      badMinutes: 41,
      goodMinutes: 67_519,
    });
    expect(r.availability).toBe(Math.floor((67_519 / 67_560) * 100 * 10_000) / 10_000);
    expect(r.availability).toBeCloseTo(99.9393, 4);
    expect(r.excludedWindows).toEqual([
      expect.objectContaining({ id: windowId, startsAt: '2026-10-10T00:00:00.000Z' }),
    ]);
    // Below 99.95: 10 % of the month's share of the committed spend (31 of 365 days).
    expect(r.creditPercent).toBe(10);
    expect(r.monthlyFeeMinor).toBe(10_191_781);
    expect(r.creditMinor).toBe(1_019_178);
  });

  it('computes the live, partial month up to the current minute', async () => {
    clock.set(at('2026-10-20T04:00:30Z'));
    const res = await api.http.get(`/v1/tenants/${tenantId}/sla`).set(admin()).expect(200);
    expect(res.body).toMatchObject({
      month: '2026-10',
      final: false,
      measuredTo: '2026-10-20T04:00:00.000Z',
    });
    const byId = Object.fromEntries(
      res.body.endpoints.map((e: { endpointId: string }) => [e.endpointId, e]),
    );
    expect(byId[whole]).toMatchObject({ minutes: 19 * 1440, excludedMinutes: 120, badMinutes: 30 });
    expect(byId[midMonth]).toMatchObject({ minutes: 4 * 1440, badMinutes: 10 });
    expect(res.body.availability).toBe(Math.floor((32_960 / 33_000) * 100 * 10_000) / 10_000);
    expect(res.body.creditPercent).toBe(10);

    const one = await api.http
      .get(`/v1/tenants/${tenantId}/endpoints/${midMonth}/sla?month=2026-10`)
      .set(admin())
      .expect(200);
    expect(one.body).toMatchObject({
      endpointId: midMonth,
      name: 'mid',
      minutes: 5760,
      badMinutes: 10,
      availability: Math.floor((5750 / 5760) * 100 * 10_000) / 10_000,
      final: false,
    });

    const future = await api.http
      .get(`/v1/tenants/${tenantId}/sla?month=2026-11`)
      .set(admin())
      .expect(400);
    expect(future.body.errors).toEqual([expect.objectContaining({ path: 'month' })]);
  });

  it('freezes a finished month with the monthly job and serves it exactly as signed', async () => {
    clock.set(at('2026-11-15T00:00:00Z'));
    const reports = api.app.get(SlaReportService);
    expect(await reports.freezeDue(60_000)).toBeGreaterThanOrEqual(1);
    expect(await reports.freeze(asTenantId(tenantId), '2026-10')).toBeNull(); // idempotent

    const json = await api.http
      .get(`/v1/tenants/${tenantId}/sla?month=2026-10`)
      .set(admin())
      .expect(200);
    expect(json.body).toMatchObject({ final: true, availability: 99.9393, creditMinor: 1_019_178 });
    const csv = await api.http
      .get(`/v1/tenants/${tenantId}/sla?month=2026-10&format=csv`)
      .set(admin())
      .expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'scope,endpoint_id,name,month,minutes,excluded_minutes,bad_minutes,good_minutes,availability_percent,ttfb_p95_ms,total_p95_ms,requests,errors,credit_percent,credit_minor,currency',
    );
    expect(lines[1]).toMatch(
      /^tenant,,,2026-10,67680,120,41,67519,99\.9393,,,1150,65,10,1019178,USD$/,
    );
    expect(lines).toHaveLength(4);

    const manifest: SlaReportManifest = (
      await api.http
        .get(`/v1/tenants/${tenantId}/sla/manifest?month=2026-10`)
        .set(admin())
        .expect(200)
    ).body;
    const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    expect(manifest).toMatchObject({ kind: 'sla_report', month: '2026-10', algorithm: 'Ed25519' });
    expect(manifest.jsonSha256).toBe(sha(json.text));
    expect(manifest.csvSha256).toBe(sha(csv.text));
    const keys = (await api.http.get('/v1/audit/signing-keys').expect(200)).body.keys as {
      keyId: string;
      publicKeyPem: string;
    }[];
    const key = keys.find((k) => k.keyId === manifest.keyId)!;
    const { signature, ...signed } = manifest;
    expect(
      verify(
        null,
        Buffer.from(canonicalize(signed) as string, 'utf8'),
        createPublicKey(key.publicKeyPem),
        Buffer.from(signature, 'base64'),
      ),
    ).toBe(true);
    // A changed figure no longer verifies.
    expect(
      verify(
        null,
        Buffer.from(canonicalize({ ...signed, creditMinor: 0 }) as string, 'utf8'),
        createPublicKey(key.publicKeyPem),
        Buffer.from(signature, 'base64'),
      ),
    ).toBe(false);

    const audit = await api.http
      .get(`/v1/tenants/${tenantId}/audit/events?action=sla_report`)
      .set(admin())
      .expect(200);
    expect(audit.body.data.map((e: { action: string }) => e.action)).toContain('sla_report.freeze');

    // The month before the previous one is frozen too (catch-up after a worker outage), as
    // the tenant had endpoints then; a month without any is not.
    await api.http
      .get(`/v1/tenants/${tenantId}/sla/manifest?month=2026-09`)
      .set(admin())
      .expect(200);
    const notFrozen = await api.http
      .get(`/v1/tenants/${tenantId}/sla/manifest?month=2026-08`)
      .set(admin())
      .expect(409);
    expect(notFrozen.body.code).toBe('sla_report_not_final');
  });

  it('keeps the terms a contract ended with for the month it was terminated in', async () => {
    const DAY = 24 * 3_600_000;
    const now = new Date();
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const month = new Date(monthStart).toISOString().slice(0, 7);
    const ended = await deployableTenant(api, {
      tenant: { billingTimeZone: 'UTC' },
      contract: {
        termStart: new Date(monthStart - 40 * DAY),
        fields: {
          sla: { availabilityTarget: 99.99, creditTiers: [{ below: 99.99, creditPercent: 10 }] },
          committedSpendMinor: 36_500_000,
          currency: 'USD',
        },
      },
    });
    const endpointId = await createEndpoint(api, ended, { name: 'ended' });
    await sql(`UPDATE endpoints SET created_at = $2 WHERE id = $1`, [
      endpointId,
      new Date(monthStart - DAY),
    ]);
    for (let i = 0; i < 10; i += 1) {
      await sql(
        `INSERT INTO sla_minutes (tenant_id, endpoint_id, minute, probes, probe_failures)
         VALUES ($1, $2, $3, 2, 1)`,
        [ended, endpointId, new Date(monthStart + (60 + i) * 60_000)],
      );
    }
    const contracts = await api.http.get(`/v1/tenants/${ended}/contracts`).set(admin()).expect(200);
    await api.http
      .post(`/v1/tenants/${ended}/contracts/${contracts.body.data[0].id}/terminate`)
      .set(admin())
      .send({ reason: 'customer ended the agreement' })
      .expect(200);

    // Four days into the next month: the month is over and no contract is in force at its end.
    clock.set(new Date(nextMonth + 4 * DAY));
    const r = (
      await api.http.get(`/v1/tenants/${ended}/sla?month=${month}`).set(admin()).expect(200)
    ).body;
    expect(r.availabilityTarget).toBe(99.99);
    expect(r.badMinutes).toBe(10);
    expect(r.availability).toBeLessThan(99.99);
    expect(r.creditPercent).toBe(10);
    expect(r.creditMinor).toBeGreaterThan(0);
    // The month after has no contract at all: no target, no credit.
    const after = new Date(nextMonth).toISOString().slice(0, 7);
    const next = (
      await api.http.get(`/v1/tenants/${ended}/sla?month=${after}`).set(admin()).expect(200)
    ).body;
    expect(next).toMatchObject({ availabilityTarget: null, creditPercent: 0 });
    clock.set(null);
  });

  describe('maintenance windows', () => {
    it('refuses windows not declared in advance, reversed, too long or without a reason', async () => {
      clock.set(at('2026-11-15T00:00:00Z'));
      const post = (body: Record<string, unknown>) =>
        api.http.post(`/v1/tenants/${tenantId}/maintenance-windows`).set(admin()).send(body);
      const cases: [Record<string, unknown>, string][] = [
        [
          { startsAt: '2026-11-14T00:00:00Z', endsAt: '2026-11-16T00:00:00Z', reason: 'x' },
          'startsAt',
        ],
        [
          { startsAt: '2026-11-16T02:00:00Z', endsAt: '2026-11-16T01:00:00Z', reason: 'x' },
          'endsAt',
        ],
        [
          { startsAt: '2026-11-16T00:00:00Z', endsAt: '2026-11-24T00:00:00Z', reason: 'x' },
          'endsAt',
        ],
        [{ startsAt: '2026-11-16T00:00:00Z', endsAt: '2026-11-16T01:00:00Z' }, 'reason'],
        [{ startsAt: 'tomorrow', endsAt: '2026-11-16T01:00:00Z', reason: 'x' }, 'startsAt'],
        // Later than now, but inside the minute under way: it would exclude what already
        // happened in that minute.
        [
          { startsAt: '2026-11-15T00:00:30Z', endsAt: '2026-11-15T01:00:00Z', reason: 'x' },
          'startsAt',
        ],
      ];
      for (const [body, path] of cases) {
        const res = await post(body);
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body.errors).toEqual(
          expect.arrayContaining([expect.objectContaining({ path })]),
        );
      }
    });

    it('withdraws a window before it starts (audited), never after', async () => {
      clock.set(at('2026-11-15T00:00:00Z'));
      const created = await api.http
        .post(`/v1/tenants/${tenantId}/maintenance-windows`)
        .set(admin())
        .send({ startsAt: '2026-11-20T00:00:00Z', endsAt: '2026-11-20T01:00:00Z', reason: 'later' })
        .expect(201);
      const page = await api.http
        .get(`/v1/tenants/${tenantId}/maintenance-windows?limit=1`)
        .set(admin())
        .expect(200);
      expect(page.body.data).toHaveLength(1);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      await api.http
        .delete(`/v1/tenants/${tenantId}/maintenance-windows/${created.body.id}`)
        .set(admin())
        .expect(204);
      const started = await api.http
        .delete(`/v1/tenants/${tenantId}/maintenance-windows/${windowId}`)
        .set(admin())
        .expect(409);
      expect(started.body.code).toBe('maintenance_window_started');
      const audit = await api.http
        .get(`/v1/tenants/${tenantId}/audit/events?resourceType=maintenance_window`)
        .set(admin())
        .expect(200);
      const actions = audit.body.data.map(
        (e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`,
      );
      expect(actions).toEqual(
        expect.arrayContaining([
          'maintenance_window.create:success',
          'maintenance_window.delete:success',
          'maintenance_window.delete:failure',
        ]),
      );
    });
  });

  describe('access', () => {
    it('lets tenant admins, compliance officers and assigned account managers read; not engineers', async () => {
      clock.set(at('2026-11-15T00:00:00Z'));
      const get = (auth: Record<string, string>) =>
        api.http.get(`/v1/tenants/${tenantId}/sla?month=2026-10`).set(auth);
      const key = async (role: 'tenant_admin' | 'compliance_officer' | 'ml_engineer' | 'viewer') =>
        bearer((await createTenantKey(api, tenantId, [role])).key);
      expect((await get(await key('tenant_admin'))).status).toBe(200);
      expect((await get(await key('compliance_officer'))).status).toBe(200);
      expect((await get(await key('ml_engineer'))).status).toBe(403);
      expect((await get(await key('viewer'))).status).toBe(403);
      const manager = await accountManagerFor(api, tenantId);
      expect((await get(bearer(manager.token))).status).toBe(200);
      const stranger = await accountManagerFor(api);
      expect((await get(bearer(stranger.token))).status).toBe(404);
      // Maintenance is the operator's: a tenant admin reads windows but cannot declare one.
      const tenantAdmin = await key('tenant_admin');
      await api.http
        .get(`/v1/tenants/${tenantId}/maintenance-windows`)
        .set(tenantAdmin)
        .expect(200);
      await api.http
        .post(`/v1/tenants/${tenantId}/maintenance-windows`)
        .set(tenantAdmin)
        .send({ startsAt: '2026-11-20T00:00:00Z', endsAt: '2026-11-20T01:00:00Z', reason: 'x' })
        .expect(403);
      await api.http
        .post(`/v1/tenants/${tenantId}/maintenance-windows`)
        .set(bearer(manager.token))
        .send({ startsAt: '2026-11-20T00:00:00Z', endsAt: '2026-11-20T01:00:00Z', reason: 'x' })
        .expect(201);
    });

    it("answers 404 for another tenant's SLA, endpoint or window", async () => {
      const other = await deployableTenant(api);
      const otherAdmin = bearer((await createTenantKey(api, other, ['tenant_admin'])).key);
      await api.http.get(`/v1/tenants/${tenantId}/sla`).set(otherAdmin).expect(404);
      await api.http.get(`/v1/tenants/${tenantId}/sla/incidents`).set(otherAdmin).expect(404);
      await api.http.get(`/v1/tenants/${tenantId}/maintenance-windows`).set(otherAdmin).expect(404);
      // The endpoint and the window exist, but not in this tenant.
      await api.http.get(`/v1/tenants/${other}/endpoints/${whole}/sla`).set(otherAdmin).expect(404);
      await api.http
        .get(`/v1/tenants/${other}/maintenance-windows/${windowId}`)
        .set(otherAdmin)
        .expect(404);
      await api.http
        .get(`/v1/tenants/${other}/sla/incidents/${windowId}`)
        .set(otherAdmin)
        .expect(404);
    });

    it('refuses maintenance windows for an offboarded tenant, whose SLA stays readable', async () => {
      clock.set(null);
      const gone = await deployableTenant(api);
      await api.http
        .post(`/v1/tenants/${gone}/offboard`)
        .set(admin())
        .send({ reason: 'contract ended' })
        .expect(200);
      const refused = await api.http
        .post(`/v1/tenants/${gone}/maintenance-windows`)
        .set(admin())
        .send({
          startsAt: new Date(Date.now() + 3_600_000).toISOString(),
          endsAt: new Date(Date.now() + 7_200_000).toISOString(),
          reason: 'x',
        })
        .expect(409);
      expect(refused.body.code).toBe('tenant_offboarded');
      await api.http.get(`/v1/tenants/${gone}/sla`).set(admin()).expect(200);
    });

    it('refuses malformed months and formats with field errors', async () => {
      for (const [query, path] of [
        ['month=2026-13', 'month'],
        ['month=26-10', 'month'],
        ['month=1969-12', 'month'],
        ['format=xml', 'format'],
      ]) {
        const res = await api.http
          .get(`/v1/tenants/${tenantId}/sla?${query}`)
          .set(admin())
          .expect(400);
        expect(res.body.errors).toEqual([expect.objectContaining({ path })]);
      }
      const manifest = await api.http
        .get(`/v1/tenants/${tenantId}/sla/manifest`)
        .set(admin())
        .expect(400);
      expect(manifest.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: 'month' })]),
      );
    });
  });
});
