import {
  accountManagerFor,
  bearer,
  createTenant,
  createTenantKey,
  platformAdminKey,
  recordUsage,
  TestApp,
} from '@app/testing';
import { CONTRACT_TRANSITIONS } from '@app/tenancy';
import { DateTime } from 'luxon';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());

/** A complete draft body; `overrides` replace fields. */
function draft(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    contractNumber: `C-${randomUUID().slice(0, 8)}`,
    termStart: '2030-01-01T00:00:00Z',
    termEnd: '2031-01-01T00:00:00Z',
    currency: 'USD',
    committedSpendMinor: 120_000_000,
    billingModel: 'prepaid',
    sla: {
      availabilityTarget: 99.9,
      latencyP95Ms: 800,
      ttfbP95Ms: 300,
      creditTiers: [
        { below: 99.9, creditPercent: 10 },
        { below: 99.0, creditPercent: 25 },
      ],
    },
    quotaLines: [
      { metric: 'total_tokens', limit: 500_000_000, period: 'month', enforcement: 'hard' },
      {
        metric: 'gpu_hours',
        limit: 8760,
        period: 'term',
        enforcement: 'soft',
        overageUnitPriceMinor: 250,
      },
    ],
    ...overrides,
  };
}

describe('contracts', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  const base = (tenantId: string) => `/v1/tenants/${tenantId}/contracts`;

  async function create(tenantId: string, body = draft()) {
    const res = await t.http.post(base(tenantId)).set(admin()).send(body);
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { id: string; contractNumber: string };
  }

  async function activated(tenantId: string, body = draft()) {
    const contract = await create(tenantId, body);
    await t.http
      .post(`${base(tenantId)}/${contract.id}/activate`)
      .set(admin())
      .expect(200);
    return contract;
  }

  async function count(tenantId: string): Promise<number> {
    const res = await t.http
      .get(`${base(tenantId)}?limit=100`)
      .set(admin())
      .expect(200);
    return res.body.data.length;
  }

  it('drafts a contract as version 1 and reads it back', async () => {
    const tenant = await createTenant(t);
    const res = await t.http.post(base(tenant.id)).set(admin()).send(draft()).expect(201);
    expect(res.body).toMatchObject({
      status: 'draft',
      version: 1,
      latestVersion: 1,
      tenantId: tenant.id,
      termStart: '2030-01-01T00:00:00.000Z',
      termEnd: '2031-01-01T00:00:00.000Z',
      effectiveFrom: '2030-01-01T00:00:00.000Z',
      billingTimeZone: 'UTC',
      currency: 'USD',
      committedSpendMinor: 120_000_000,
      quotaLines: [
        { metric: 'total_tokens', limit: 500_000_000, period: 'month', enforcement: 'hard' },
        { metric: 'gpu_hours', limit: 8760, overageUnitPriceMinor: 250 },
      ],
      sla: { availabilityTarget: 99.9, measurementWindow: 'calendar_month' },
    });
    await t.http
      .get(`${base(tenant.id)}/${res.body.id}`)
      .set(admin())
      .expect(200, res.body);
  });

  it('defaults the term to one year in the billing time zone', async () => {
    const slug = `tokyo-${randomUUID().slice(0, 8)}`;
    const tenant = (
      await t.http
        .post('/v1/tenants')
        .set(admin())
        .send({ slug, name: 'Tokyo KK', billingTimeZone: 'Asia/Tokyo' })
        .expect(201)
    ).body;
    const res = await t.http
      .post(base(tenant.id))
      .set(admin())
      .send({ contractNumber: 'JP-1', termStart: '2027-02-28T15:00:00Z' })
      .expect(201);
    // 2027-03-01 00:00 JST + 1 year = 2028-03-01 00:00 JST (2028 is a leap year).
    expect(res.body.termEnd).toBe('2028-02-29T15:00:00.000Z');
    expect(res.body.billingTimeZone).toBe('Asia/Tokyo');
  });

  describe('bad input answers problem+json with field errors and writes nothing', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['end before start', { termEnd: '2029-06-01T00:00:00Z' }, 'termEnd'],
      ['end equal to start', { termEnd: '2030-01-01T00:00:00Z' }, 'termEnd'],
      ['a term over ten years', { termEnd: '2045-01-01T00:00:00Z' }, 'termEnd'],
      ['a date without offset', { termStart: '2030-01-01T00:00:00' }, 'termStart'],
      ['a date that does not exist', { termStart: '2030-02-30T00:00:00Z' }, 'termStart'],
      ['a date-only start', { termStart: '2030-01-01' }, 'termStart'],
      ['a numeric start', { termStart: 1893456000000 }, 'termStart'],
      ['year 0000', { termStart: '0000-01-01T00:00:00Z' }, 'termStart'],
      ['a start before 1970', { termStart: '1969-12-31T23:59:59Z' }, 'termStart'],
      ['24:00:00', { termStart: '2030-01-01T24:00:00Z' }, 'termStart'],
      ['an end in year 10000', { termEnd: '10000-01-01T00:00:00Z' }, 'termEnd'],
      [
        'a default end after 9999-12-31',
        { termStart: '9999-06-01T00:00:00Z', termEnd: undefined },
        'termEnd',
      ],
      [
        'a negative limit',
        { quotaLines: [{ metric: 'requests', limit: -5, period: 'day', enforcement: 'hard' }] },
        'quotaLines[0].limit',
      ],
      [
        'a zero limit',
        { quotaLines: [{ metric: 'requests', limit: 0, period: 'day', enforcement: 'hard' }] },
        'quotaLines[0].limit',
      ],
      [
        'a fractional limit',
        { quotaLines: [{ metric: 'requests', limit: 10.5, period: 'day', enforcement: 'hard' }] },
        'quotaLines[0].limit',
      ],
      [
        'a limit past 2^53',
        {
          quotaLines: [
            { metric: 'requests', limit: 2 ** 53 + 2, period: 'day', enforcement: 'hard' },
          ],
        },
        'quotaLines[0].limit',
      ],
      [
        'a string limit',
        { quotaLines: [{ metric: 'requests', limit: '100', period: 'day', enforcement: 'hard' }] },
        'quotaLines[0].limit',
      ],
      [
        'an unknown metric',
        { quotaLines: [{ metric: 'vibes', limit: 1, period: 'day', enforcement: 'hard' }] },
        'quotaLines[0].metric',
      ],
      [
        'an unknown period',
        { quotaLines: [{ metric: 'requests', limit: 1, period: 'week', enforcement: 'hard' }] },
        'quotaLines[0].period',
      ],
      [
        'an unknown enforcement',
        { quotaLines: [{ metric: 'requests', limit: 1, period: 'day', enforcement: 'maybe' }] },
        'quotaLines[0].enforcement',
      ],
      [
        'a duplicate line',
        {
          quotaLines: [
            { metric: 'requests', limit: 1, period: 'day', enforcement: 'hard' },
            { metric: 'requests', limit: 2, period: 'day', enforcement: 'soft' },
          ],
        },
        'quotaLines[1]',
      ],
      [
        'a monthly cap on dedicated endpoints',
        {
          quotaLines: [
            { metric: 'dedicated_endpoints', limit: 2, period: 'month', enforcement: 'hard' },
          ],
        },
        'quotaLines[0].period',
      ],
      ['a currency not in ISO 4217', { currency: 'XYZ' }, 'currency'],
      ['a lowercase currency', { currency: 'usd' }, 'currency'],
      ['negative committed spend', { committedSpendMinor: -1 }, 'committedSpendMinor'],
      ['fractional committed spend', { committedSpendMinor: 10.25 }, 'committedSpendMinor'],
      ['an unknown billing model', { billingModel: 'barter' }, 'billingModel'],
      [
        'an availability target over 100',
        { sla: { availabilityTarget: 100.5 } },
        'sla.availabilityTarget',
      ],
      [
        'a credit tier above the target',
        { sla: { availabilityTarget: 99.5, creditTiers: [{ below: 99.9, creditPercent: 10 }] } },
        'sla.creditTiers[0].below',
      ],
      [
        'a lower tier with a smaller credit',
        {
          sla: {
            availabilityTarget: 99.9,
            creditTiers: [
              { below: 99.9, creditPercent: 25 },
              { below: 99.0, creditPercent: 10 },
            ],
          },
        },
        'sla.creditTiers[1].creditPercent',
      ],
      ['an unknown field', { discount: 5 }, 'discount'],
      ['a blank contract number', { contractNumber: ' ' }, 'contractNumber'],
      ['SLA terms sent as null', { sla: null }, 'sla'],
      ['quota lines sent as null', { quotaLines: null }, 'quotaLines'],
      ['a null committed spend', { committedSpendMinor: null }, 'committedSpendMinor'],
    ];

    it.each(cases)('refuses %s', async (_name, overrides, path) => {
      const tenant = await createTenant(t);
      const res = await t.http.post(base(tenant.id)).set(admin()).send(draft(overrides));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
      expect(await count(tenant.id)).toBe(0);
    });

    it('refuses a taken contract number with 409 and keeps the first', async () => {
      const tenant = await createTenant(t);
      const first = await create(tenant.id);
      const res = await t.http
        .post(base(tenant.id))
        .set(admin())
        .send(draft({ contractNumber: first.contractNumber, currency: 'EUR' }))
        .expect(409);
      expect(res.body).toMatchObject({
        code: 'contract_number_taken',
        errors: [{ path: 'contractNumber' }],
      });
      expect(await count(tenant.id)).toBe(1);
    });
  });

  describe('lifecycle', () => {
    it('uses one transition table: draft → active → expired | terminated', () => {
      expect(CONTRACT_TRANSITIONS).toEqual({
        draft: { activate: 'active' },
        active: { terminate: 'terminated', expire: 'expired' },
        expired: {},
        terminated: {},
      });
    });

    it('refuses to activate an incomplete draft, naming what is missing, and keeps it a draft', async () => {
      const tenant = await createTenant(t);
      const contract = await create(tenant.id, {
        contractNumber: 'INCOMPLETE',
        termStart: '2030-01-01T00:00:00Z',
      });
      const res = await t.http
        .post(`${base(tenant.id)}/${contract.id}/activate`)
        .set(admin())
        .expect(422);
      expect(res.body.code).toBe('contract_incomplete');
      expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(
        ['billingModel', 'committedSpendMinor', 'currency', 'quotaLines', 'sla'].sort(),
      );
      const after = await t.http
        .get(`${base(tenant.id)}/${contract.id}`)
        .set(admin())
        .expect(200);
      expect(after.body.status).toBe('draft');
    });

    it('refuses to activate a draft whose term has ended', async () => {
      const tenant = await createTenant(t);
      const contract = await create(
        tenant.id,
        draft({ termStart: '2020-01-01T00:00:00Z', termEnd: '2021-01-01T00:00:00Z' }),
      );
      const res = await t.http
        .post(`${base(tenant.id)}/${contract.id}/activate`)
        .set(admin())
        .expect(422);
      expect(res.body.errors).toEqual([{ path: 'termEnd', message: 'the term has already ended' }]);
    });

    it('completes a draft with PATCH, then activates it', async () => {
      const tenant = await createTenant(t);
      const contract = await create(tenant.id, {
        contractNumber: 'PARTIAL',
        termStart: '2030-01-01T00:00:00Z',
      });
      const { contractNumber: _n, termStart: _s, ...rest } = draft();
      const patched = await t.http
        .patch(`${base(tenant.id)}/${contract.id}`)
        .set(admin())
        .send(rest)
        .expect(200);
      expect(patched.body).toMatchObject({ version: 1, currency: 'USD', status: 'draft' });
      expect(patched.body.quotaLines).toHaveLength(2);
      const active = await t.http
        .post(`${base(tenant.id)}/${contract.id}/activate`)
        .set(admin())
        .expect(200);
      expect(active.body).toMatchObject({ status: 'active', activatedAt: expect.any(String) });
    });

    it('activates with no body or {}, and refuses any field sent to activate', async () => {
      const tenant = await createTenant(t);
      const contract = await create(tenant.id);
      const res = await t.http
        .post(`${base(tenant.id)}/${contract.id}/activate`)
        .set(admin())
        .send({ force: true, termStart: '2020-01-01T00:00:00Z' })
        .expect(400);
      expect(res.body).toMatchObject({
        code: 'validation_failed',
        errors: [
          { path: 'force', message: 'property force should not exist' },
          { path: 'termStart', message: 'property termStart should not exist' },
        ],
      });
      await t.http
        .post(`${base(tenant.id)}/${contract.id}/activate`)
        .set(admin())
        .send([])
        .expect(400);
      const after = await t.http
        .get(`${base(tenant.id)}/${contract.id}`)
        .set(admin())
        .expect(200);
      expect(after.body.status).toBe('draft');
      await t.http
        .post(`${base(tenant.id)}/${contract.id}/activate`)
        .set(admin())
        .send({})
        .expect(200);
    });

    it('discards a draft (204), only a draft, and only for those who write contracts', async () => {
      const tenant = await createTenant(t);
      const manager = await accountManagerFor(t, tenant.id);
      const tenantAdmin = (await createTenantKey(t, tenant.id, ['tenant_admin'])).key;
      const doomed = await create(tenant.id);
      await t.http
        .delete(`${base(tenant.id)}/${doomed.id}`)
        .set(bearer(tenantAdmin))
        .expect(403);
      await t.http
        .delete(`${base(tenant.id)}/${doomed.id}`)
        .set(bearer(manager.token))
        .expect(204);
      await t.http
        .get(`${base(tenant.id)}/${doomed.id}`)
        .set(admin())
        .expect(404);
      await t.http
        .get(`${base(tenant.id)}/${doomed.id}/versions`)
        .set(admin())
        .expect(404);
      await t.http
        .delete(`${base(tenant.id)}/${doomed.id}`)
        .set(admin())
        .expect(404);
      // Its number is free again.
      await create(tenant.id, draft({ contractNumber: doomed.contractNumber }));

      const active = await activated(
        tenant.id,
        draft({ termStart: '2032-01-01T00:00:00Z', termEnd: '2033-01-01T00:00:00Z' }),
      );
      const refused = await t.http
        .delete(`${base(tenant.id)}/${active.id}`)
        .set(admin())
        .expect(409);
      expect(refused.body.code).toBe('contract_not_editable');
      await t.http
        .post(`${base(tenant.id)}/${active.id}/terminate`)
        .set(admin())
        .send({ reason: 'x' })
        .expect(200);
      await t.http
        .delete(`${base(tenant.id)}/${active.id}`)
        .set(admin())
        .expect(409);
      expect(await count(tenant.id)).toBe(2);

      // Another tenant's draft under this tenant's path, and a malformed id, are not found.
      const other = await createTenant(t);
      const theirs = await create(other.id);
      await t.http
        .delete(`${base(tenant.id)}/${theirs.id}`)
        .set(bearer(manager.token))
        .expect(404);
      await t.http
        .delete(`${base(other.id)}/${theirs.id}`)
        .set(bearer(manager.token))
        .expect(404);
      await t.http
        .delete(`${base(tenant.id)}/not-a-uuid`)
        .set(admin())
        .expect(404);
      expect(await count(other.id)).toBe(1);
    });

    it('never edits an active contract in place', async () => {
      const tenant = await createTenant(t);
      const contract = await activated(tenant.id);
      const res = await t.http
        .patch(`${base(tenant.id)}/${contract.id}`)
        .set(admin())
        .send({ committedSpendMinor: 1 })
        .expect(409);
      expect(res.body.code).toBe('contract_not_editable');
      const after = await t.http
        .get(`${base(tenant.id)}/${contract.id}`)
        .set(admin())
        .expect(200);
      expect(after.body.committedSpendMinor).toBe(120_000_000);
    });

    it.each([
      ['activate', 'active'],
      ['terminate', 'draft'],
      ['amend', 'draft'],
      ['renew', 'draft'],
      ['activate', 'terminated'],
      ['terminate', 'terminated'],
      ['amend', 'terminated'],
      ['renew', 'terminated'],
    ])('refuses to %s a contract that is %s (409)', async (action, status) => {
      const tenant = await createTenant(t);
      const contract = status === 'draft' ? await create(tenant.id) : await activated(tenant.id);
      if (status === 'terminated') {
        await t.http
          .post(`${base(tenant.id)}/${contract.id}/terminate`)
          .set(admin())
          .send({ reason: 'test' })
          .expect(200);
      }
      const path = action === 'amend' ? 'amendments' : action;
      const body =
        action === 'terminate'
          ? { reason: 'again' }
          : action === 'amend'
            ? { effectiveFrom: '2030-06-01T00:00:00Z', changes: { committedSpendMinor: 1 } }
            : {};
      const res = await t.http
        .post(`${base(tenant.id)}/${contract.id}/${path}`)
        .set(admin())
        .send(body)
        .expect(409);
      expect(res.body.code).toBe('illegal_contract_transition');
      const after = await t.http
        .get(`${base(tenant.id)}/${contract.id}`)
        .set(admin())
        .expect(200);
      expect(after.body.status).toBe(status);
      expect(after.body.latestVersion).toBe(1);
    });

    it('reports an active contract past its end as expired, which may not be terminated', async () => {
      const tenant = await createTenant(t);
      const now = Date.now();
      const contract = await activated(
        tenant.id,
        draft({
          termStart: new Date(now - 60_000).toISOString(),
          termEnd: new Date(now + 1500).toISOString(),
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const res = await t.http
        .get(`${base(tenant.id)}/${contract.id}`)
        .set(admin())
        .expect(200);
      expect(res.body.status).toBe('expired');
      await t.http
        .post(`${base(tenant.id)}/${contract.id}/terminate`)
        .set(admin())
        .send({ reason: 'late' })
        .expect(409);
      const list = await t.http
        .get(`${base(tenant.id)}?status=expired`)
        .set(admin())
        .expect(200);
      expect(list.body.data.map((c: { id: string }) => c.id)).toEqual([contract.id]);
    });

    it('terminates an active contract: it stops being in force now', async () => {
      const tenant = await createTenant(t);
      const start = new Date(Date.now() - 86_400_000).toISOString();
      const contract = await activated(tenant.id, draft({ termStart: start }));
      const before = await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(admin()).expect(200);
      expect(before.body.contract.id).toBe(contract.id);
      const res = await t.http
        .post(`${base(tenant.id)}/${contract.id}/terminate`)
        .set(admin())
        .send({ reason: 'Early termination, clause 14.2' })
        .expect(200);
      expect(res.body).toMatchObject({
        status: 'terminated',
        terminationReason: 'Early termination, clause 14.2',
      });
      expect(Date.parse(res.body.endsAt)).toBeLessThanOrEqual(Date.now());
      const after = await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(admin()).expect(200);
      expect(after.body).toMatchObject({ contract: null, data: [] });
      await t.http
        .post(`${base(tenant.id)}/${contract.id}/terminate`)
        .set(admin())
        .send({})
        .expect(400);
    });
  });

  describe('overlapping terms', () => {
    it('refuses to activate a contract overlapping one in force, naming it', async () => {
      const tenant = await createTenant(t);
      const first = await activated(tenant.id);
      const second = await create(
        tenant.id,
        draft({ termStart: '2030-06-01T00:00:00Z', termEnd: '2031-06-01T00:00:00Z' }),
      );
      const res = await t.http
        .post(`${base(tenant.id)}/${second.id}/activate`)
        .set(admin())
        .expect(409);
      expect(res.body).toMatchObject({
        code: 'contract_overlap',
        conflictingContractId: first.id,
        errors: [{ path: 'termStart' }],
      });
    });

    it('lets back-to-back terms both be active (terms are half-open)', async () => {
      const tenant = await createTenant(t);
      await activated(tenant.id);
      await activated(
        tenant.id,
        draft({ termStart: '2031-01-01T00:00:00Z', termEnd: '2032-01-01T00:00:00Z' }),
      );
    });

    it('lets exactly one of two concurrent overlapping activations succeed', async () => {
      for (let round = 0; round < 5; round += 1) {
        const tenant = await createTenant(t);
        const a = await create(tenant.id);
        const b = await create(
          tenant.id,
          draft({ termStart: '2030-03-01T00:00:00Z', termEnd: '2031-03-01T00:00:00Z' }),
        );
        const answers = await Promise.all(
          [a, b].map((c) => t.http.post(`${base(tenant.id)}/${c.id}/activate`).set(admin())),
        );
        const statuses = answers.map((r) => r.status).sort();
        expect(statuses).toEqual([200, 409]);
        expect(answers.find((r) => r.status === 409)!.body.code).toBe('contract_overlap');
        const active = await t.http
          .get(`${base(tenant.id)}?status=active`)
          .set(admin())
          .expect(200);
        expect(active.body.data).toHaveLength(1);
      }
    });
  });

  describe('amendments and asOf', () => {
    async function amend(tenantId: string, id: string, effectiveFrom: string, limit: number) {
      return t.http
        .post(`${base(tenantId)}/${id}/amendments`)
        .set(admin())
        .send({
          effectiveFrom,
          reason: `limit ${limit}`,
          changes: {
            quotaLines: [{ metric: 'requests', limit, period: 'day', enforcement: 'hard' }],
          },
        });
    }

    it('answers the terms in force at any instant across amendments', async () => {
      const tenant = await createTenant(t);
      const contract = await activated(
        tenant.id,
        draft({
          quotaLines: [{ metric: 'requests', limit: 100, period: 'day', enforcement: 'hard' }],
        }),
      );
      const v2 = await amend(tenant.id, contract.id, '2030-04-01T00:00:00Z', 200);
      expect(v2.status).toBe(201);
      expect(v2.body).toMatchObject({ version: 2, latestVersion: 2, amendmentReason: 'limit 200' });
      expect((await amend(tenant.id, contract.id, '2030-07-01T00:00:00Z', 300)).status).toBe(201);

      const limitAt = async (asOf: string) => {
        const res = await t.http
          .get(`${base(tenant.id)}/${contract.id}?asOf=${encodeURIComponent(asOf)}`)
          .set(admin())
          .expect(200);
        return [res.body.version, res.body.quotaLines[0].limit, res.body.committedSpendMinor];
      };
      expect(await limitAt('2030-01-01T00:00:00Z')).toEqual([1, 100, 120_000_000]);
      expect(await limitAt('2030-03-31T23:59:59.999Z')).toEqual([1, 100, 120_000_000]);
      expect(await limitAt('2030-04-01T00:00:00Z')).toEqual([2, 200, 120_000_000]);
      expect(await limitAt('2030-04-01T09:00:00+09:00')).toEqual([2, 200, 120_000_000]);
      expect(await limitAt('2030-06-30T23:59:59Z')).toEqual([2, 200, 120_000_000]);
      expect(await limitAt('2030-07-01T00:00:00Z')).toEqual([3, 300, 120_000_000]);
      expect(await limitAt('2030-12-31T23:59:59.999Z')).toEqual([3, 300, 120_000_000]);

      for (const outside of ['2029-12-31T23:59:59Z', '2031-01-01T00:00:00Z']) {
        const res = await t.http
          .get(`${base(tenant.id)}/${contract.id}?asOf=${outside}`)
          .set(admin())
          .expect(422);
        expect(res.body.code).toBe('as_of_outside_term');
      }
      await t.http
        .get(`${base(tenant.id)}/${contract.id}?asOf=yesterday`)
        .set(admin())
        .expect(400);

      const versions = await t.http
        .get(`${base(tenant.id)}/${contract.id}/versions`)
        .set(admin())
        .expect(200);
      expect(
        versions.body.data.map((v: { version: number; effectiveFrom: string }) => [
          v.version,
          v.effectiveFrom,
        ]),
      ).toEqual([
        [1, '2030-01-01T00:00:00.000Z'],
        [2, '2030-04-01T00:00:00.000Z'],
        [3, '2030-07-01T00:00:00.000Z'],
      ]);
      const inForce = await t.http
        .get(`${base(tenant.id)}?asOf=2030-05-01T00:00:00Z`)
        .set(admin())
        .expect(200);
      expect(inForce.body.data.map((c: { version: number }) => c.version)).toEqual([2]);
    });

    it('keeps amendments in order, within the term and out of the past', async () => {
      const tenant = await createTenant(t);
      const contract = await activated(tenant.id);
      expect((await amend(tenant.id, contract.id, '2030-07-01T00:00:00Z', 300)).status).toBe(201);
      for (const [when, fragment] of [
        ['2030-05-01T00:00:00Z', 'must be after'],
        ['2030-07-01T00:00:00Z', 'must be after'],
        ['2031-02-01T00:00:00Z', 'within the term'],
        ['2020-01-01T00:00:00Z', 'in the past'],
      ]) {
        const res = await amend(tenant.id, contract.id, when, 400);
        expect(res.status).toBe(422);
        expect(res.body).toMatchObject({
          code: 'invalid_amendment',
          errors: [{ path: 'effectiveFrom' }],
        });
        expect(res.body.detail).toContain(fragment);
      }
      const latest = await t.http.get(`${base(tenant.id)}/${contract.id}/versions`).set(admin());
      expect(latest.body.data).toHaveLength(2);
    });

    it('takes the default effectiveFrom after waiting for concurrent amendments: never a 422 on a field not sent', async () => {
      const tenant = await createTenant(t);
      const contract = await activated(
        tenant.id,
        draft({ termStart: new Date(Date.now() - 86_400_000).toISOString(), termEnd: undefined }),
      );
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          t.http
            .post(`${base(tenant.id)}/${contract.id}/amendments`)
            .set(admin())
            .send({ reason: `concurrent ${i}`, changes: { committedSpendMinor: 1000 + i } }),
        ),
      );
      for (const res of answers) {
        // 201, or (same millisecond as the one before it) a 409 that says to retry.
        expect([201, 409]).toContain(res.status);
        if (res.status === 409) expect(res.body.code).toBe('amendment_conflict');
      }
      const created = answers.filter((res) => res.status === 201).length;
      expect(created).toBeGreaterThanOrEqual(1);
      const versions = await t.http
        .get(`${base(tenant.id)}/${contract.id}/versions`)
        .set(admin())
        .expect(200);
      expect(versions.body.data).toHaveLength(1 + created);
    });

    it('answers 409 amendment_conflict, not 422, when no effectiveFrom was sent and a later version is scheduled', async () => {
      const tenant = await createTenant(t);
      const contract = await activated(
        tenant.id,
        draft({ termStart: new Date(Date.now() - 86_400_000).toISOString(), termEnd: undefined }),
      );
      const scheduled = new Date(Date.now() + 30 * 86_400_000).toISOString();
      await t.http
        .post(`${base(tenant.id)}/${contract.id}/amendments`)
        .set(admin())
        .send({ effectiveFrom: scheduled, changes: { committedSpendMinor: 5 } })
        .expect(201);
      const res = await t.http
        .post(`${base(tenant.id)}/${contract.id}/amendments`)
        .set(admin())
        .send({ changes: { committedSpendMinor: 6 } })
        .expect(409);
      expect(res.body).toMatchObject({
        code: 'amendment_conflict',
        latestVersion: 2,
        latestEffectiveFrom: new Date(scheduled).toISOString(),
      });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.detail).toContain('send an effectiveFrom after');
      // Sending a date after it works.
      await t.http
        .post(`${base(tenant.id)}/${contract.id}/amendments`)
        .set(admin())
        .send({
          effectiveFrom: new Date(Date.parse(scheduled) + 1000).toISOString(),
          changes: { committedSpendMinor: 6 },
        })
        .expect(201);
    });

    it.each([
      [{ changes: {} }, 'changes'],
      [{ changes: { currency: 'EUR' } }, 'changes.currency'],
      [{ changes: { termEnd: '2032-01-01T00:00:00Z' } }, 'changes.termEnd'],
      [{ changes: { quotaLines: [] } }, 'changes.quotaLines'],
      [
        {
          changes: {
            quotaLines: [{ metric: 'requests', limit: -1, period: 'day', enforcement: 'hard' }],
          },
        },
        'changes.quotaLines[0].limit',
      ],
      [{}, 'changes'],
    ])('refuses the amendment %j (field %s)', async (body, path) => {
      const tenant = await createTenant(t);
      const contract = await activated(tenant.id);
      const res = await t.http
        .post(`${base(tenant.id)}/${contract.id}/amendments`)
        .set(admin())
        .send({ effectiveFrom: '2030-06-01T00:00:00Z', ...body })
        .expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    });
  });

  describe('renewal', () => {
    it('drafts the next term from the current one, once', async () => {
      const tenant = await createTenant(t);
      const contract = await activated(tenant.id, draft({ contractNumber: 'ACME-2030' }));
      await t.http
        .post(`${base(tenant.id)}/${contract.id}/amendments`)
        .set(admin())
        .send({
          effectiveFrom: '2030-06-01T00:00:00Z',
          changes: { committedSpendMinor: 150_000_000 },
        })
        .expect(201);
      const renewal = await t.http
        .post(`${base(tenant.id)}/${contract.id}/renew`)
        .set(admin())
        .send({})
        .expect(201);
      expect(renewal.body).toMatchObject({
        contractNumber: 'ACME-2030-R1',
        status: 'draft',
        version: 1,
        renewalOf: contract.id,
        termStart: '2031-01-01T00:00:00.000Z',
        termEnd: '2032-01-01T00:00:00.000Z',
        committedSpendMinor: 150_000_000,
        currency: 'USD',
      });
      expect(renewal.body.quotaLines).toHaveLength(2);
      const again = await t.http
        .post(`${base(tenant.id)}/${contract.id}/renew`)
        .set(admin())
        .send({})
        .expect(409);
      expect(again.body).toMatchObject({ code: 'already_renewed', renewalId: renewal.body.id });
      await t.http
        .post(`${base(tenant.id)}/${renewal.body.id}/activate`)
        .set(admin())
        .expect(200);
      const next = await t.http
        .post(`${base(tenant.id)}/${renewal.body.id}/renew`)
        .set(admin())
        .send({})
        .expect(201);
      expect(next.body.contractNumber).toBe('ACME-2030-R2');
    });
  });

  describe('renewal numbering and length', () => {
    it('numbers a second renewal -R2 when the first renewal was terminated', async () => {
      const tenant = await createTenant(t);
      const source = await activated(tenant.id, draft({ contractNumber: 'ACME-2030' }));
      const first = await t.http
        .post(`${base(tenant.id)}/${source.id}/renew`)
        .set(admin())
        .send({})
        .expect(201);
      expect(first.body.contractNumber).toBe('ACME-2030-R1');
      await t.http
        .post(`${base(tenant.id)}/${first.body.id}/activate`)
        .set(admin())
        .expect(200);
      await t.http
        .post(`${base(tenant.id)}/${first.body.id}/terminate`)
        .set(admin())
        .send({ reason: 'renegotiated' })
        .expect(200);
      // -R2 is taken by an unrelated draft: the next free number is chosen.
      await create(
        tenant.id,
        draft({
          contractNumber: 'ACME-2030-R2',
          termStart: '2040-01-01T00:00:00Z',
          termEnd: undefined,
        }),
      );
      const second = await t.http
        .post(`${base(tenant.id)}/${source.id}/renew`)
        .set(admin())
        .send({})
        .expect(201);
      expect(second.body).toMatchObject({
        contractNumber: 'ACME-2030-R3',
        renewalOf: source.id,
        termStart: '2031-01-01T00:00:00.000Z',
      });
      // Still one renewal at a time: a draft or active renewal blocks another.
      const again = await t.http
        .post(`${base(tenant.id)}/${source.id}/renew`)
        .set(admin())
        .send({})
        .expect(409);
      expect(again.body).toMatchObject({ code: 'already_renewed', renewalId: second.body.id });
      // A number the client sends is its own: taken is 409 on that field.
      await t.http
        .delete(`${base(tenant.id)}/${second.body.id}`)
        .set(admin())
        .expect(204);
      const taken = await t.http
        .post(`${base(tenant.id)}/${source.id}/renew`)
        .set(admin())
        .send({ contractNumber: 'ACME-2030-R1' })
        .expect(409);
      expect(taken.body).toMatchObject({
        code: 'contract_number_taken',
        errors: [{ path: 'contractNumber' }],
      });
    });

    it('renews whole local days in New York as local days, to local midnight', async () => {
      const tenant = (
        await t.http
          .post('/v1/tenants')
          .set(admin())
          .send({
            slug: `nyc-${randomUUID().slice(0, 8)}`,
            name: 'NYC Inc',
            billingTimeZone: 'America/New_York',
          })
          .expect(201)
      ).body;
      // 2030-03-01 00:00 EST → 2030-03-31 00:00 EDT: 30 local days, one of them 23 hours.
      const source = await activated(
        tenant.id,
        draft({ termStart: '2030-03-01T05:00:00Z', termEnd: '2030-03-31T04:00:00Z' }),
      );
      const renewal = await t.http
        .post(`${base(tenant.id)}/${source.id}/renew`)
        .set(admin())
        .send({})
        .expect(201);
      // 30 local days later, at local midnight (EDT), not 23:00 the day before.
      expect(renewal.body).toMatchObject({
        termStart: '2030-03-31T04:00:00.000Z',
        termEnd: '2030-04-30T04:00:00.000Z',
      });
    });

    it('renews a one-month term anchored on the 31st from its own start', async () => {
      const tenant = await createTenant(t);
      const source = await activated(
        tenant.id,
        draft({ termStart: '2030-01-31T00:00:00Z', termEnd: '2030-02-28T00:00:00Z' }),
      );
      const renewal = await t.http
        .post(`${base(tenant.id)}/${source.id}/renew`)
        .set(admin())
        .send({})
        .expect(201);
      expect(renewal.body).toMatchObject({
        termStart: '2030-02-28T00:00:00.000Z',
        termEnd: '2030-03-28T00:00:00.000Z',
      });
    });
  });

  describe('access', () => {
    it('lets tenant admins and compliance officers read their contract, not write it', async () => {
      const tenant = await createTenant(t);
      const contract = await create(tenant.id);
      for (const role of ['tenant_admin', 'compliance_officer'] as const) {
        const key = (await createTenantKey(t, tenant.id, [role])).key;
        await t.http
          .get(`${base(tenant.id)}/${contract.id}`)
          .set(bearer(key))
          .expect(200);
        await t.http.get(base(tenant.id)).set(bearer(key)).expect(200);
        await t.http.post(base(tenant.id)).set(bearer(key)).send(draft()).expect(403);
        await t.http
          .post(`${base(tenant.id)}/${contract.id}/activate`)
          .set(bearer(key))
          .expect(403);
      }
      for (const role of ['ml_engineer', 'viewer'] as const) {
        const key = (await createTenantKey(t, tenant.id, [role])).key;
        await t.http
          .get(`${base(tenant.id)}/${contract.id}`)
          .set(bearer(key))
          .expect(403);
      }
      expect(await count(tenant.id)).toBe(1);
    });

    it("lets assigned account managers write; hides other tenants' contracts behind 404", async () => {
      const mine = await createTenant(t);
      const other = await createTenant(t);
      const manager = await accountManagerFor(t, mine.id);
      const res = await t.http
        .post(base(mine.id))
        .set(bearer(manager.token))
        .send(draft())
        .expect(201);
      await t.http
        .post(`${base(mine.id)}/${res.body.id}/activate`)
        .set(bearer(manager.token))
        .expect(200);
      await t.http.post(base(other.id)).set(bearer(manager.token)).send(draft()).expect(404);
      const theirs = await create(other.id);
      await t.http
        .get(`${base(other.id)}/${theirs.id}`)
        .set(bearer(manager.token))
        .expect(404);
      // Another tenant's contract id under my tenant's path is not found either.
      const adminKey = (await createTenantKey(t, mine.id, ['tenant_admin'])).key;
      await t.http
        .get(`${base(mine.id)}/${theirs.id}`)
        .set(bearer(adminKey))
        .expect(404);
      // A malformed id names no contract: 404 like an unknown one (and like a malformed tenantId).
      const malformed = await t.http
        .get(`${base(mine.id)}/not-a-uuid`)
        .set(bearer(adminKey))
        .expect(404);
      expect(malformed.body.code).toBe('not_found');
    });
  });

  describe('malformed ids in paths', () => {
    it('answers 404 not_found for every contract route, like a malformed tenant id', async () => {
      const tenant = await createTenant(t);
      const routes: ['get' | 'post' | 'patch' | 'delete', string][] = [
        ['get', 'not-a-uuid'],
        ['get', 'not-a-uuid/versions'],
        ['patch', 'not-a-uuid'],
        ['delete', 'not-a-uuid'],
        ['post', 'not-a-uuid/activate'],
        ['post', 'not-a-uuid/terminate'],
        ['post', 'not-a-uuid/renew'],
        ['post', 'not-a-uuid/amendments'],
        ['get', '%00'],
      ];
      for (const [method, path] of routes) {
        const res = await t.http[method](`${base(tenant.id)}/${path}`).set(admin());
        expect({ path, status: res.status, code: res.body.code }).toEqual({
          path,
          status: 404,
          code: 'not_found',
        });
      }
      const badTenant = await t.http.get('/v1/tenants/not-a-uuid/contracts').set(admin());
      expect([badTenant.status, badTenant.body.code]).toEqual([404, 'not_found']);
    });
  });

  describe('idempotency', () => {
    it('50 concurrent identical creates with one Idempotency-Key make one contract and 50 identical answers', async () => {
      const tenant = await createTenant(t);
      const body = draft();
      const key = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 50 }, () =>
          t.http.post(base(tenant.id)).set(admin()).set('Idempotency-Key', key).send(body),
        ),
      );
      expect(new Set(answers.map((r) => r.status))).toEqual(new Set([201]));
      expect(new Set(answers.map((r) => r.text)).size).toBe(1);
      expect(await count(tenant.id)).toBe(1);
    });
  });

  describe('quota status', () => {
    it('reports each line of the contract in force with its period, anchored in the tenant time zone', async () => {
      const slug = `tokyo-${randomUUID().slice(0, 8)}`;
      const tenant = (
        await t.http
          .post('/v1/tenants')
          .set(admin())
          .send({ slug, name: 'Tokyo KK', billingTimeZone: 'Asia/Tokyo' })
          .expect(201)
      ).body;
      const monthStart = DateTime.now().setZone('Asia/Tokyo').startOf('month');
      const termStart = monthStart.minus({ months: 2 });
      await activated(
        tenant.id,
        draft({
          termStart: termStart.toUTC().toISO(),
          termEnd: termStart.plus({ years: 1 }).toUTC().toISO(),
          quotaLines: [
            { metric: 'total_tokens', limit: 1000, period: 'month', enforcement: 'hard' },
            {
              metric: 'requests',
              limit: 3,
              period: 'term',
              enforcement: 'soft',
              overageUnitPriceMinor: 5,
            },
            { metric: 'dedicated_endpoints', limit: 2, period: 'term', enforcement: 'hard' },
          ],
        }),
      );
      const edge = monthStart.toJSDate();
      await recordUsage(t, tenant.id, [
        // The previous month: not this period's usage.
        { metric: 'total_tokens', quantity: 900, occurredAt: new Date(edge.getTime() - 1) },
        // Exactly at the edge: this period (periods are half-open).
        { metric: 'total_tokens', quantity: 250, occurredAt: edge },
        { metric: 'total_tokens', quantity: 50, occurredAt: new Date(Date.now() - 1000) },
        { metric: 'requests', quantity: 4, occurredAt: new Date(Date.now() - 1000) },
        {
          metric: 'dedicated_endpoints',
          quantity: 1,
          occurredAt: termStart.plus({ days: 1 }).toJSDate(),
        },
      ]);
      // Another tenant's usage never counts.
      const other = await createTenant(t);
      await recordUsage(t, other.id, [{ metric: 'total_tokens', quantity: 999, occurredAt: edge }]);

      const res = await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(admin()).expect(200);
      expect(res.body.data).toEqual([
        {
          metric: 'total_tokens',
          period: 'month',
          enforcement: 'hard',
          limit: 1000,
          used: 300,
          remaining: 700,
          percent: 30,
          overage: 0,
          overflow: false,
          periodStart: monthStart.toUTC().toISO(),
          periodEnd: monthStart.plus({ months: 1 }).toUTC().toISO(),
        },
        {
          metric: 'requests',
          period: 'term',
          enforcement: 'soft',
          limit: 3,
          used: 4,
          remaining: 0,
          percent: 133.33,
          overage: 1,
          overflow: false,
          periodStart: termStart.toUTC().toISO(),
          periodEnd: termStart.plus({ years: 1 }).toUTC().toISO(),
        },
        expect.objectContaining({
          metric: 'dedicated_endpoints',
          used: 1,
          remaining: 1,
          percent: 50,
        }),
      ]);
      // Local midnight in Tokyo is 15:00 UTC the day before.
      expect(res.body.data[0].periodStart).toMatch(/T15:00:00\.000Z$/);

      const engineer = (await createTenantKey(t, tenant.id, ['ml_engineer'])).key;
      await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(bearer(engineer)).expect(200);
      await t.http.get(`/v1/tenants/${other.id}/quotas`).set(bearer(engineer)).expect(404);
    });

    it('rounds percent half up and never answers 500 when usage passes 2^53 − 1', async () => {
      const tenant = await createTenant(t);
      const start = DateTime.now().toUTC().minus({ days: 1 });
      await activated(
        tenant.id,
        draft({
          termStart: start.toISO(),
          termEnd: start.plus({ years: 1 }).toISO(),
          quotaLines: [
            { metric: 'requests', limit: 3, period: 'term', enforcement: 'soft' },
            { metric: 'total_tokens', limit: 1000, period: 'term', enforcement: 'soft' },
          ],
        }),
      );
      const now = new Date(Date.now() - 1000);
      await recordUsage(t, tenant.id, [
        { metric: 'requests', quantity: 5, occurredAt: now },
        // Two safe quantities whose sum is not: 2^54 − 2.
        { metric: 'total_tokens', quantity: Number.MAX_SAFE_INTEGER, occurredAt: now },
        { metric: 'total_tokens', quantity: Number.MAX_SAFE_INTEGER, occurredAt: now },
      ]);
      const res = await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(admin()).expect(200);
      expect(res.body.data[0]).toMatchObject({
        used: 5,
        percent: 166.67,
        overage: 2,
        overflow: false,
      });
      expect(res.body.data[1]).toMatchObject({
        limit: 1000,
        used: Number.MAX_SAFE_INTEGER,
        remaining: 0,
        overage: Number.MAX_SAFE_INTEGER,
        overflow: true,
      });
      expect(res.body.data[1].percent).toBeGreaterThan(1e15);
    });

    it('is empty when no contract is in force', async () => {
      const tenant = await createTenant(t);
      await create(tenant.id);
      const res = await t.http.get(`/v1/tenants/${tenant.id}/quotas`).set(admin()).expect(200);
      expect(res.body).toMatchObject({ contract: null, data: [] });
    });
  });
});
