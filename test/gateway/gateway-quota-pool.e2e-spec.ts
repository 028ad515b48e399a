import { asTenantId } from '@app/authz';
import { QuotaReservationService } from '@app/metering';
import { bearer, expectEventually, ledgerSum, retireEndpoints, TestApp } from '@app/testing';
import type { AddressInfo } from 'node:net';
import { startApi } from '../support/api';
import { startGateway } from '../support/gateway';
import { startWorker } from '../support/worker';
import { tenantServing } from './support/tenant-serving';

jest.setTimeout(180_000);

const MODEL = 'llama-3-8b-local';

/**
 * The gateway's quota hold pool (GATEWAY_QUOTA_POOL_SIZE): a busy tenant's requests take holds
 * reserved ahead. They are real holds (a hard line counts them), they are given back when they
 * age and at shutdown, and near a limit they never make the gateway refuse what would fit.
 */
describe('gateway quota hold pool', () => {
  let api: TestApp;
  let worker: TestApp;
  let gateway: TestApp;

  const gatewayUrl = (app: TestApp) =>
    `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}/v1`;
  const chat = (app: TestApp, key: string, maxTokens: number) =>
    app.http
      .post('/v1/chat/completions')
      .set(bearer(key))
      .send({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: maxTokens,
      });
  const ledger = (tenantId: string) => ledgerSum(api, tenantId, 'total_tokens');
  /** `total_tokens` holds of the pool served from it so far. */
  const poolHits = async (app: TestApp) =>
    Number(
      /gateway_quota_pool_takes_total\{outcome="hit"\} (\d+)/.exec(
        (await app.http.get('/metrics').expect(200)).text,
      )?.[1] ?? 0,
    );
  /** Serves `n` requests one after another; the total tokens they were billed. */
  async function serve(app: TestApp, key: string, n: number): Promise<number> {
    let total = 0;
    for (let i = 0; i < n; i++)
      total += (await chat(app, key, 8).expect(200)).body.usage.total_tokens;
    return total;
  }
  /** Whether `quantity` more total tokens can be reserved for the tenant now (given back at once). */
  async function fits(app: TestApp, tenantId: string, quantity: number): Promise<boolean> {
    const reservations = app.app.get(QuotaReservationService);
    const r = await reservations.reserve({
      tenantId: asTenantId(tenantId),
      metric: 'total_tokens',
      quantity,
    });
    if (r.granted) await reservations.release(r.reservationId);
    return r.granted;
  }

  /** A tenant with a hard `total_tokens` line of `limit`, served by `app`. */
  const limitedTenant = (app: TestApp, limit: number) =>
    tenantServing(
      api,
      gatewayUrl(app),
      [MODEL],
      [{ metric: 'total_tokens', limit, enforcement: 'hard' }],
    );
  /** Such a tenant after `n` requests through `app`, all of them in the ledger. */
  async function busyTenant(app: TestApp, limit: number, n: number) {
    const tenant = await limitedTenant(app, limit);
    const billed = await serve(app, tenant.key, n);
    await expectEventually(async () => expect(await ledger(tenant.id)).toBe(billed));
    return { tenant, billed };
  }
  /** A second gateway whose pooled holds wait 10 s (only shutdown or a drain gives them back). */
  const patientGateway = () => startGateway({ env: { GATEWAY_QUOTA_POOL_MAX_AGE_MS: '10000' } });

  beforeAll(async () => {
    api = await startApi();
    worker = await startWorker({
      env: { ENDPOINT_RECONCILE_INTERVAL_MS: '500', LOCAL_MODEL_TOKEN_LATENCY_MS: '1' },
    });
    // Pooled holds wait up to 3 s: long enough to be seen, short enough to be seen to go.
    gateway = await startGateway({ env: { GATEWAY_QUOTA_POOL_MAX_AGE_MS: '3000' } });
  });
  afterAll(async () => {
    await gateway.close();
    await worker.close();
    await retireEndpoints(api);
    await api.close();
  });

  it('serves a busy tenant from holds made ahead, held against its line until they age out', async () => {
    const LIMIT = 1_000_000;
    const tenant = await limitedTenant(gateway, LIMIT);
    const hitsBefore = await poolHits(gateway);
    const billed = await serve(gateway, tenant.key, 12);
    expect(await poolHits(gateway)).toBeGreaterThan(hitsBefore);
    await expectEventually(async () => expect(await ledger(tenant.id)).toBe(billed));
    // What is left of the line does not fit while the pool's holds wait…
    expect(await fits(gateway, tenant.id, LIMIT - billed)).toBe(false);
    // …and does once they have aged out (no request took them).
    await expectEventually(
      async () => expect(await fits(gateway, tenant.id, LIMIT - billed)).toBe(true),
      { timeoutMs: 15_000, intervalMs: 250 },
    );
  });

  it('gives its holds back when the gateway shuts down', async () => {
    const LIMIT = 1_000_000;
    const second = await patientGateway();
    let closed = false;
    try {
      const { tenant, billed } = await busyTenant(second, LIMIT, 8);
      expect(await fits(gateway, tenant.id, LIMIT - billed)).toBe(false);
      await second.close();
      closed = true;
      expect(await fits(gateway, tenant.id, LIMIT - billed)).toBe(true);
    } finally {
      if (!closed) await second.close();
    }
  });

  it('near a hard limit refuses only a request whose estimate does not fit, naming the line', async () => {
    const LIMIT = 700;
    const MAX_TOKENS = 20;
    const tenant = await limitedTenant(gateway, LIMIT);
    let billed = 0;
    let estimate = 0;
    let refusal: { status: number; body: { error: Record<string, unknown> } } | undefined;
    for (let i = 0; i < 200 && !refusal; i++) {
      const res = await chat(gateway, tenant.key, MAX_TOKENS);
      if (res.status === 200) {
        billed += res.body.usage.total_tokens;
        estimate = res.body.usage.prompt_tokens + MAX_TOKENS;
        continue;
      }
      expect(res.status).toBe(429);
      // Holds of requests served but not yet committed count until their commit: once all is in
      // the ledger, a refusal must mean the estimate does not fit what is left.
      await expectEventually(async () => expect(await ledger(tenant.id)).toBe(billed));
      const again = await chat(gateway, tenant.key, MAX_TOKENS);
      if (again.status === 429) refusal = again;
      else billed += again.body.usage.total_tokens;
    }
    expect(refusal?.body.error).toMatchObject({
      code: 'quota_exceeded',
      quota_line: { metric: 'total_tokens', limit: LIMIT },
    });
    expect(billed).toBeLessThanOrEqual(LIMIT);
    expect(LIMIT - billed).toBeLessThan(estimate);
    expect(await ledger(tenant.id)).toBe(billed);
  });

  it('gives pooled units back before refusing a request they would make room for', async () => {
    const LIMIT = 2000;
    const second = await patientGateway();
    try {
      const { tenant, billed } = await busyTenant(second, LIMIT, 10);
      const prompt = (await chat(second, tenant.key, 1).expect(200)).body.usage.prompt_tokens;
      await expectEventually(async () => expect(await ledger(tenant.id)).toBe(billed + prompt + 1));
      // Exactly what is left, of a size no pooled hold has: granted only once the pool's parked
      // units are back.
      const rest = LIMIT - (billed + prompt + 1);
      expect(await fits(gateway, tenant.id, rest)).toBe(false);
      const last = await chat(second, tenant.key, rest - prompt);
      expect(last.status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('takes nothing from a pool when pooling is off', async () => {
    const off = await startGateway({ env: { GATEWAY_QUOTA_POOL_SIZE: '0' } });
    try {
      const tenant = await tenantServing(api, gatewayUrl(off), [MODEL]);
      await serve(off, tenant.key, 6);
      expect(await poolHits(off)).toBe(0);
    } finally {
      await off.close();
    }
  });
});
