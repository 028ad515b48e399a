import {
  bearer,
  createTenant,
  createTenantKey,
  platformAdminKey,
  recordUsage,
  TestApp,
} from '@app/testing';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());

describe('usage queries (GET /v1/tenants/{tenantId}/usage)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  const usage = (tenantId: string, query: Record<string, string>, auth = admin()) =>
    t.http.get(`/v1/tenants/${tenantId}/usage`).query(query).set(auth);

  // Two days of usage with edges inside hours, on an endpoint and two keys.
  const endpointId = randomUUID();
  const keyA = randomUUID();
  const keyB = randomUUID();
  const seed = async (tenantId: string) =>
    recordUsage(t, tenantId, [
      { metric: 'total_tokens', quantity: 100, occurredAt: '2026-11-01T00:10:00Z', apiKeyId: keyA },
      {
        metric: 'total_tokens',
        quantity: 200,
        occurredAt: '2026-11-01T05:00:00Z',
        apiKeyId: keyA,
        endpointId,
      },
      {
        metric: 'total_tokens',
        quantity: 300,
        occurredAt: '2026-11-01T23:40:00Z',
        apiKeyId: keyB,
        endpointId,
      },
      { metric: 'total_tokens', quantity: 400, occurredAt: '2026-11-02T00:20:00Z', apiKeyId: keyB },
      { metric: 'total_tokens', quantity: 500, occurredAt: '2026-11-02T12:59:59.999Z' },
      { metric: 'requests', quantity: 5, occurredAt: '2026-11-02T13:00:00Z' },
    ]);

  it('sums per metric over any window, exact at boundaries inside hours', async () => {
    const tenant = await createTenant(t);
    await seed(tenant.id);
    const all = await usage(tenant.id, {
      from: '2026-11-01T00:00:00Z',
      to: '2026-11-03T00:00:00Z',
    }).expect(200);
    expect(all.body).toMatchObject({ timeZone: 'UTC' });
    expect(all.body.data).toEqual([
      { metric: 'requests', quantity: 5, events: 1, overflow: false },
      { metric: 'total_tokens', quantity: 1500, events: 5, overflow: false },
    ]);
    // from 00:15 (inside an hour) to 12:59:59.999 (exclusive): drops the first and last events.
    const inner = await usage(tenant.id, {
      from: '2026-11-01T00:15:00Z',
      to: '2026-11-02T12:59:59.999Z',
      metric: 'total_tokens',
    }).expect(200);
    expect(inner.body.data).toEqual([
      { metric: 'total_tokens', quantity: 900, events: 3, overflow: false },
    ]);
    // A window inside one hour.
    const within = await usage(tenant.id, {
      from: '2026-11-01T23:30:00Z',
      to: '2026-11-01T23:50:00Z',
    }).expect(200);
    expect(within.body.data).toEqual([
      { metric: 'total_tokens', quantity: 300, events: 1, overflow: false },
    ]);
  });

  it('groups by day in the requested time zone, also zones 30 minutes off the hour', async () => {
    const tenant = await createTenant(t);
    await seed(tenant.id);
    const window = {
      from: '2026-10-31T00:00:00Z',
      to: '2026-11-03T00:00:00Z',
      metric: 'total_tokens',
    };
    const utc = await usage(tenant.id, { ...window, groupBy: 'day', timeZone: 'UTC' }).expect(200);
    expect(
      utc.body.data.map((r: { day: string; quantity: number }) => [r.day, r.quantity]),
    ).toEqual([
      ['2026-11-01', 600],
      ['2026-11-02', 900],
    ]);
    // India is UTC+5:30: local midnight falls at 18:30 UTC, inside an hour.
    const india = await usage(tenant.id, {
      ...window,
      groupBy: 'day',
      timeZone: 'Asia/Kolkata',
    }).expect(200);
    expect(
      india.body.data.map((r: { day: string; quantity: number }) => [r.day, r.quantity]),
    ).toEqual([
      ['2026-11-01', 300],
      ['2026-11-02', 1200],
    ]);
    // One UTC hour holding both sides of Indian midnight (18:30Z) is split by the ledger.
    await recordUsage(t, tenant.id, [
      { metric: 'requests', quantity: 7, occurredAt: '2026-11-01T18:10:00Z' },
      { metric: 'requests', quantity: 11, occurredAt: '2026-11-01T18:50:00Z' },
    ]);
    const split = await usage(tenant.id, {
      ...window,
      metric: 'requests',
      groupBy: 'day',
      timeZone: 'Asia/Kolkata',
    }).expect(200);
    expect(
      split.body.data.map((r: { day: string; quantity: number }) => [r.day, r.quantity]),
    ).toEqual([
      ['2026-11-01', 7],
      ['2026-11-02', 16],
    ]);
    // New York (UTC−5 in November): 23:40Z and 00:20Z are still Nov 1 there.
    const ny = await usage(tenant.id, {
      ...window,
      groupBy: 'day',
      timeZone: 'America/New_York',
    }).expect(200);
    expect(ny.body.data.map((r: { day: string; quantity: number }) => [r.day, r.quantity])).toEqual(
      [
        ['2026-10-31', 100],
        ['2026-11-01', 900],
        ['2026-11-02', 500],
      ],
    );
  });

  it('groups by endpoint and by API key', async () => {
    const tenant = await createTenant(t);
    await seed(tenant.id);
    const window = {
      from: '2026-11-01T00:00:00Z',
      to: '2026-11-03T00:00:00Z',
      metric: 'total_tokens',
    };
    const byEndpoint = await usage(tenant.id, { ...window, groupBy: 'endpoint' }).expect(200);
    expect(byEndpoint.body.data).toEqual([
      { metric: 'total_tokens', endpointId: null, quantity: 1000, events: 3, overflow: false },
      { metric: 'total_tokens', endpointId, quantity: 500, events: 2, overflow: false },
    ]);
    const byKey = await usage(tenant.id, { ...window, groupBy: 'apiKey' }).expect(200);
    expect(
      byKey.body.data.map((r: { apiKeyId: string | null; quantity: number }) => [
        r.apiKeyId,
        r.quantity,
      ]),
    ).toEqual(
      [
        [null, 500],
        [keyA, 300],
        [keyB, 700],
      ].sort((a, b) =>
        a[0] === null ? -1 : b[0] === null ? 1 : String(a[0]).localeCompare(String(b[0])),
      ),
    );
  });

  it('answers bad queries with field errors', async () => {
    const tenant = await createTenant(t);
    const bad = async (query: Record<string, string>, path: string) => {
      const res = await usage(tenant.id, query).expect(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    };
    const ok = { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' };
    await bad({ to: ok.to }, 'from');
    await bad({ from: ok.from }, 'to');
    await bad({ ...ok, from: '2026-11-01' }, 'from');
    await bad({ ...ok, to: ok.from }, 'to');
    await bad({ ...ok, to: '2028-01-01T00:00:00Z' }, 'to');
    await bad({ ...ok, metric: 'tokens' }, 'metric');
    await bad({ ...ok, groupBy: 'hour' }, 'groupBy');
    await bad({ ...ok, groupBy: 'day', timeZone: 'Mars/Olympus' }, 'timeZone');
    // Fixed offsets in POSIX spelling mean the opposite sign to PostgreSQL; not IANA zones.
    await bad({ ...ok, groupBy: 'day', timeZone: 'UTC+5:30' }, 'timeZone');
    await bad({ ...ok, groupBy: 'day', timeZone: 'UTC-3' }, 'timeZone');
    await bad({ ...ok, groupBy: 'day', timeZone: 'local' }, 'timeZone');
    await bad({ ...ok, groupBy: 'day', timeZone: 'system' }, 'timeZone');
  });

  it("lets the tenant's members read it, and hides it from another tenant (404)", async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    await seed(tenant.id);
    const member = await createTenantKey(t, tenant.id, ['ml_engineer']);
    const outsider = await createTenantKey(t, other.id, ['tenant_admin']);
    const window = { from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z' };
    await usage(tenant.id, window, bearer(member.key)).expect(200);
    await usage(tenant.id, window, bearer(outsider.key)).expect(404);
    // The other tenant's own view never includes this tenant's usage.
    const own = await usage(other.id, window, bearer(outsider.key)).expect(200);
    expect(own.body.data).toEqual([]);
  });
});
