import { TenantDb } from '@app/authz';
import {
  accountManagerFor,
  bearer,
  createTenant,
  createTenantKey,
  expectEventually,
  platformAdminKey,
  signIn,
  TestApp,
} from '@app/testing';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());

/** A complete contract draft; `overrides` replace fields. */
function draft(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    contractNumber: `C-${randomUUID().slice(0, 8)}`,
    termStart: '2030-01-01T00:00:00Z',
    termEnd: '2031-01-01T00:00:00Z',
    currency: 'USD',
    committedSpendMinor: 1_000_000,
    billingModel: 'prepaid',
    sla: { availabilityTarget: 99.9 },
    quotaLines: [{ metric: 'requests', limit: 1000, period: 'day', enforcement: 'hard' }],
    ...overrides,
  };
}

describe('offboarded tenants', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  const contracts = (tenantId: string) => `/v1/tenants/${tenantId}/contracts`;

  async function contract(tenantId: string, body = draft(), activate = false) {
    const res = await t.http.post(contracts(tenantId)).set(admin()).send(body);
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    if (activate) {
      await t.http
        .post(`${contracts(tenantId)}/${res.body.id}/activate`)
        .set(admin())
        .expect(200);
    }
    return res.body as { id: string; contractNumber: string };
  }

  async function offboard(tenantId: string) {
    return t.http
      .post(`/v1/tenants/${tenantId}/offboard`)
      .set(admin())
      .send({ reason: 'contract ended' })
      .expect(200);
  }

  it('refuses every write with 409 tenant_offboarded, whoever asks, and changes nothing', async () => {
    const tenant = await createTenant(t);
    const manager = await accountManagerFor(t, tenant.id);
    const spare = await signIn(t, ['account_manager']);
    const active = await contract(
      tenant.id,
      draft({ termStart: new Date(Date.now() - 86_400_000).toISOString(), termEnd: undefined }),
      true,
    );
    const pending = await contract(
      tenant.id,
      draft({ termStart: '2035-01-01T00:00:00Z', termEnd: undefined }),
    );
    const key = await createTenantKey(t, tenant.id, ['viewer']);
    await offboard(tenant.id);

    const writes: [string, string, object | undefined][] = [
      ['post', `${contracts(tenant.id)}/${active.id}/terminate`, { reason: 'again' }],
      [
        'post',
        `${contracts(tenant.id)}/${active.id}/amendments`,
        { changes: { committedSpendMinor: 1 } },
      ],
      ['post', `${contracts(tenant.id)}/${active.id}/renew`, {}],
      ['post', `${contracts(tenant.id)}/${pending.id}/activate`, undefined],
      ['patch', `${contracts(tenant.id)}/${pending.id}`, { committedSpendMinor: 5 }],
      ['delete', `${contracts(tenant.id)}/${pending.id}`, undefined],
      ['post', contracts(tenant.id), draft()],
      ['post', `/v1/tenants/${tenant.id}/account-managers`, { userId: spare.userId }],
      ['delete', `/v1/tenants/${tenant.id}/account-managers/${manager.userId}`, undefined],
      ['post', `/v1/tenants/${tenant.id}/api-keys`, { name: 'late', roles: ['viewer'] }],
      ['post', `/v1/tenants/${tenant.id}/api-keys/${key.id}/revoke`, {}],
      ['post', `/v1/tenants/${tenant.id}/activate`, {}],
      ['post', `/v1/tenants/${tenant.id}/suspend`, { reason: 'x' }],
      ['post', `/v1/tenants/${tenant.id}/offboard`, { reason: 'twice' }],
    ];
    for (const [method, path, body] of writes) {
      for (const token of [platformAdminKey(), manager.token]) {
        const request = t.http[method as 'post' | 'patch' | 'delete'](path).set(bearer(token));
        const res = body === undefined ? await request : await request.send(body);
        expect({ method, path, status: res.status, code: res.body.code }).toEqual({
          method,
          path,
          status: res.status === 403 ? 403 : 409,
          code: res.status === 403 ? 'missing_permission' : 'tenant_offboarded',
        });
      }
    }

    // Staff still read everything, and nothing changed.
    const after = await t.http.get(`/v1/tenants/${tenant.id}`).set(admin()).expect(200);
    expect(after.body).toMatchObject({ status: 'offboarded', statusReason: 'contract ended' });
    const list = await t.http
      .get(`${contracts(tenant.id)}?limit=100`)
      .set(admin())
      .expect(200);
    expect(list.body.data.map((c: { id: string }) => c.id).sort()).toEqual(
      [active.id, pending.id].sort(),
    );
    const pendingNow = await t.http
      .get(`${contracts(tenant.id)}/${pending.id}`)
      .set(bearer(manager.token))
      .expect(200);
    expect(pendingNow.body).toMatchObject({ status: 'draft', committedSpendMinor: 1_000_000 });
    const keys = await t.http.get(`/v1/tenants/${tenant.id}/api-keys`).set(admin()).expect(200);
    expect(keys.body.data).toEqual([expect.objectContaining({ id: key.id, revokedAt: null })]);
    const managers = await t.http
      .get(`/v1/tenants/${tenant.id}/account-managers`)
      .set(admin())
      .expect(200);
    expect(managers.body.data.map((a: { userId: string }) => a.userId)).toEqual([manager.userId]);
    const officer = await signIn(t, ['compliance_officer']);
    await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(bearer(officer.token)).expect(200);
    await t.http.get(contracts(tenant.id)).set(bearer(officer.token)).expect(200);
  });

  it('terminates the contracts in force (and any activated for later) in the offboarding transaction', async () => {
    const tenant = await createTenant(t);
    const current = await contract(
      tenant.id,
      draft({
        termStart: new Date(Date.now() - 30 * 86_400_000).toISOString(),
        termEnd: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      }),
      true,
    );
    const later = await contract(
      tenant.id,
      draft({
        termStart: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        termEnd: new Date(Date.now() + 400 * 86_400_000).toISOString(),
      }),
      true,
    );
    const unsigned = await contract(
      tenant.id,
      draft({ termStart: '2040-01-01T00:00:00Z', termEnd: undefined }),
    );
    const before = await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(admin()).expect(200);
    expect(before.body.contract.id).toBe(current.id);

    const started = Date.now();
    await offboard(tenant.id);

    const read = async (id: string) =>
      (
        await t.http
          .get(`${contracts(tenant.id)}/${id}`)
          .set(admin())
          .expect(200)
      ).body;
    const currentNow = await read(current.id);
    expect(currentNow).toMatchObject({
      status: 'terminated',
      terminationReason: 'tenant offboarded',
    });
    expect(Date.parse(currentNow.endsAt)).toBeGreaterThanOrEqual(started - 1000);
    expect(Date.parse(currentNow.endsAt)).toBeLessThanOrEqual(Date.now());
    const laterNow = await read(later.id);
    // Never in force: it ends where it would have started.
    expect(laterNow).toMatchObject({
      status: 'terminated',
      terminationReason: 'tenant offboarded',
      endsAt: laterNow.termStart,
    });
    expect((await read(unsigned.id)).status).toBe('draft');
    const quotas = await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(admin()).expect(200);
    expect(quotas.body).toMatchObject({ contract: null, data: [] });
  });

  describe('races with the offboarding transition', () => {
    // The owner's own connection: the app's pool runs as cp_app, which may not see other
    // sessions' statements in pg_stat_activity.
    let observer: Client;
    beforeAll(async () => {
      observer = new Client({ connectionString: process.env.DATABASE_URL });
      await observer.connect();
    });
    afterAll(() => observer.end());

    /** Backends of this database waiting for a lock in a statement containing `fragment`. */
    async function waitingOnLock(fragment: string): Promise<number> {
      const { rows } = await observer.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
        [`%${fragment}%`],
      );
      return Number(rows[0].n);
    }

    it('refuses a contract write that waited for a concurrent offboarding (tenant row FOR SHARE)', async () => {
      const tenant = await createTenant(t);
      let answer: Promise<{ status: number; body: { code?: string } }> | undefined;
      // Play the offboarding transaction by hand, so the write arrives while it holds the lock.
      await t.app.get(TenantDb).asPlatform('test: offboarding in flight', async (manager) => {
        await manager.query('SELECT id FROM tenants WHERE id = $1 FOR UPDATE', [tenant.id]);
        // The request's own first round trip still sees the tenant active (not yet committed).
        answer = t.http
          .post(contracts(tenant.id))
          .set(admin())
          .send(draft())
          .then((res) => res);
        await expectEventually(async () => expect(await waitingOnLock('FOR SHARE')).toBe(1));
        await manager.query(
          `UPDATE tenants SET status = 'offboarded', status_reason = 'race' WHERE id = $1`,
          [tenant.id],
        );
      });
      const res = await answer!;
      expect({ status: res.status, code: res.body.code }).toEqual({
        status: 409,
        code: 'tenant_offboarded',
      });
      const list = await t.http.get(contracts(tenant.id)).set(admin()).expect(200);
      expect(list.body.data).toEqual([]);
    });

    it('makes the offboarding wait for a contract write in flight, then terminates what it activated', async () => {
      const tenant = await createTenant(t);
      const pending = await contract(
        tenant.id,
        draft({ termStart: new Date(Date.now() - 86_400_000).toISOString(), termEnd: undefined }),
      );
      let answer: Promise<{ status: number }> | undefined;
      // Play an activation in flight by hand: tenant FOR SHARE first (as every contract write
      // does), then the contract.
      await t.app.get(TenantDb).asPlatform('test: activation in flight', async (manager) => {
        await manager.query('SELECT id FROM tenants WHERE id = $1 FOR SHARE', [tenant.id]);
        await manager.query(
          `UPDATE contracts SET status = 'active', activated_at = now() WHERE id = $1`,
          [pending.id],
        );
        answer = t.http
          .post(`/v1/tenants/${tenant.id}/offboard`)
          .set(admin())
          .send({ reason: 'race' })
          .then((res) => res);
        await expectEventually(async () => expect(await waitingOnLock('FOR UPDATE')).toBe(1));
      });
      expect((await answer!).status).toBe(200);
      const after = await t.http
        .get(`${contracts(tenant.id)}/${pending.id}`)
        .set(admin())
        .expect(200);
      expect(after.body).toMatchObject({
        status: 'terminated',
        terminationReason: 'tenant offboarded',
      });
    });
  });
});
