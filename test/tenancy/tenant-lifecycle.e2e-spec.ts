import {
  accountManagerFor,
  bearer,
  createTenant,
  createTenantKey,
  platformAdminKey,
  signIn,
  TestApp,
} from '@app/testing';
import { TENANT_STATUSES, TENANT_TRANSITIONS, TenantLifecycleAction } from '@app/tenancy';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());

const GDPR_PROFILE = {
  allowedRegions: ['eu-west-1'],
  allowedDataZones: ['eu'],
  allowedModelFamilies: ['llama', 'mistral'],
  dataClassification: 'confidential',
  requiredCertifications: ['gdpr'],
  auditRetentionDays: 2555,
};

describe('tenants: compliance profiles and lifecycle', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  const slug = () => `t-${randomUUID().slice(0, 12)}`;

  describe('compliance profile', () => {
    it('creates a tenant in onboarding with its profile as version 1', async () => {
      const res = await t.http
        .post('/v1/tenants')
        .set(admin())
        .send({
          slug: slug(),
          name: 'Acme EU',
          complianceProfile: GDPR_PROFILE,
          billingTimeZone: 'Europe/Berlin',
        })
        .expect(201);
      expect(res.body).toMatchObject({
        status: 'onboarding',
        billingTimeZone: 'Europe/Berlin',
        complianceProfile: { ...GDPR_PROFILE, version: 1 },
      });
    });

    it('gives a tenant created without a profile one that permits nothing yet', async () => {
      const tenant = await createTenant(t);
      const res = await t.http
        .get(`/v1/tenants/${tenant.id}/compliance-profile`)
        .set(admin())
        .expect(200);
      expect(res.body).toEqual({
        allowedRegions: [],
        allowedDataZones: [],
        allowedModelFamilies: [],
        dataClassification: 'confidential',
        requiredCertifications: [],
        auditRetentionDays: 365,
        version: 1,
      });
    });

    it.each([
      [
        { allowedRegions: ['mars-north-1'] },
        'complianceProfile.allowedRegions[0]',
        'unknown region',
      ],
      [
        {
          allowedRegions: ['eu-central-1'],
          requiredCertifications: ['hipaa'],
          auditRetentionDays: 2190,
        },
        'complianceProfile.allowedRegions[0]',
        'lacks required certification hipaa',
      ],
      [{ allowedDataZones: ['antarctica'] }, 'complianceProfile.allowedDataZones[0]', 'no region'],
      [
        {
          requiredCertifications: ['hipaa'],
          allowedRegions: ['us-east-1'],
          auditRetentionDays: 2189,
        },
        'complianceProfile.auditRetentionDays',
        'hipaa requires it',
      ],
      [
        { requiredCertifications: ['pci_dss'], allowedRegions: [], auditRetentionDays: 90 },
        'complianceProfile.auditRetentionDays',
        'at least 365',
      ],
    ])('refuses a profile breaking a catalog rule %j (422)', async (change, path, message) => {
      const s = slug();
      const res = await t.http
        .post('/v1/tenants')
        .set(admin())
        .send({ slug: s, name: 'x', complianceProfile: { ...GDPR_PROFILE, ...change } })
        .expect(422);
      expect(res.body.code).toBe('invalid_compliance_profile');
      const error = res.body.errors.find((e: { path: string }) => e.path === path);
      expect(error.message).toContain(message);
      const list = await t.http.get('/v1/tenants?limit=100').set(admin()).expect(200);
      expect(list.body.data.map((x: { slug: string }) => x.slug)).not.toContain(s);
    });

    it.each([
      [
        { complianceProfile: { ...GDPR_PROFILE, dataClassification: 'secret' } },
        'complianceProfile.dataClassification',
      ],
      [
        { complianceProfile: { ...GDPR_PROFILE, requiredCertifications: ['iso9001'] } },
        'complianceProfile.requiredCertifications',
      ],
      [
        { complianceProfile: { ...GDPR_PROFILE, auditRetentionDays: 10.5 } },
        'complianceProfile.auditRetentionDays',
      ],
      [
        { complianceProfile: { ...GDPR_PROFILE, allowedModelFamilies: ['Llama 3!'] } },
        'complianceProfile.allowedModelFamilies',
      ],
      [{ complianceProfile: { dataClassification: 'public' } }, 'complianceProfile.allowedRegions'],
      [{ billingTimeZone: 'Mars/Olympus' }, 'billingTimeZone'],
    ])('refuses a malformed profile or zone %j (400)', async (change, path) => {
      const res = await t.http
        .post('/v1/tenants')
        .set(admin())
        .send({ slug: slug(), name: 'x', ...change })
        .expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    });

    it('versions each change, in force from the next request', async () => {
      const tenant = await createTenant(t);
      const engineer = (await createTenantKey(t, tenant.id, ['ml_engineer'])).key;
      const put = await t.http
        .put(`/v1/tenants/${tenant.id}/compliance-profile`)
        .set(admin())
        .send(GDPR_PROFILE)
        .expect(200);
      expect(put.body).toEqual({ ...GDPR_PROFILE, version: 2 });
      const seen = await t.http
        .get(`/v1/tenants/${tenant.id}/compliance-profile`)
        .set(bearer(engineer))
        .expect(200);
      expect(seen.body.version).toBe(2);
      await t.http
        .put(`/v1/tenants/${tenant.id}/compliance-profile`)
        .set(admin())
        .send({ ...GDPR_PROFILE, allowedModelFamilies: ['llama'] })
        .expect(200);
      const versions = await t.http
        .get(`/v1/tenants/${tenant.id}/compliance-profile/versions?limit=2`)
        .set(admin())
        .expect(200);
      expect(versions.body.data.map((v: { version: number }) => v.version)).toEqual([1, 2]);
      const rest = await t.http
        .get(
          `/v1/tenants/${tenant.id}/compliance-profile/versions?after=${versions.body.nextCursor}`,
        )
        .set(admin())
        .expect(200);
      expect(rest.body).toMatchObject({
        data: [{ version: 3, allowedModelFamilies: ['llama'] }],
        nextCursor: null,
      });
      expect(rest.body.data[0].createdBy).toMatch(/^api_key:/);
    });

    it('lets the tenant read but never change its own profile', async () => {
      const tenant = await createTenant(t);
      const tenantAdmin = (await createTenantKey(t, tenant.id, ['tenant_admin'])).key;
      await t.http
        .get(`/v1/tenants/${tenant.id}/compliance-profile`)
        .set(bearer(tenantAdmin))
        .expect(200);
      await t.http
        .put(`/v1/tenants/${tenant.id}/compliance-profile`)
        .set(bearer(tenantAdmin))
        .send(GDPR_PROFILE)
        .expect(403);
      const manager = await accountManagerFor(t, tenant.id);
      await t.http
        .put(`/v1/tenants/${tenant.id}/compliance-profile`)
        .set(bearer(manager.token))
        .send(GDPR_PROFILE)
        .expect(200);
      const other = await createTenant(t);
      await t.http
        .put(`/v1/tenants/${other.id}/compliance-profile`)
        .set(bearer(manager.token))
        .send(GDPR_PROFILE)
        .expect(404);
    });
  });

  describe('lifecycle', () => {
    async function tenantIn(status: (typeof TENANT_STATUSES)[number]): Promise<string> {
      const tenant = await createTenant(t);
      const path: TenantLifecycleAction[] =
        status === 'onboarding'
          ? []
          : status === 'active'
            ? ['activate']
            : status === 'suspended'
              ? ['activate', 'suspend']
              : ['offboard'];
      for (const action of path) {
        await t.http
          .post(`/v1/tenants/${tenant.id}/${action}`)
          .set(admin())
          .send({ reason: 'setup' })
          .expect(200);
      }
      return tenant.id;
    }

    const pairs = TENANT_STATUSES.flatMap((status) =>
      (['activate', 'suspend', 'offboard'] as const).map((action) => [status, action] as const),
    );

    it.each(pairs)('from %s, %s follows the transition table', async (status, action) => {
      const id = await tenantIn(status);
      const next = TENANT_TRANSITIONS[status][action];
      const res = await t.http
        .post(`/v1/tenants/${id}/${action}`)
        .set(admin())
        .send({ reason: 'because' });
      if (next) {
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: next, statusReason: 'because' });
      } else {
        expect(res.status).toBe(409);
        // An offboarded tenant refuses every write before its status is even looked at.
        expect(res.body).toMatchObject(
          status === 'offboarded'
            ? { code: 'tenant_offboarded' }
            : { code: 'illegal_tenant_transition', tenantStatus: status },
        );
        const after = await t.http.get(`/v1/tenants/${id}`).set(admin()).expect(200);
        expect(after.body.status).toBe(status);
      }
    });

    it('refuses unknown fields sent to activate', async () => {
      const id = await tenantIn('onboarding');
      const res = await t.http
        .post(`/v1/tenants/${id}/activate`)
        .set(admin())
        .send({ status: 'active', force: true })
        .expect(400);
      expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
        'force',
        'status',
      ]);
      const after = await t.http.get(`/v1/tenants/${id}`).set(admin()).expect(200);
      expect(after.body.status).toBe('onboarding');
    });

    it('needs a reason to suspend or offboard', async () => {
      const id = await tenantIn('active');
      for (const action of ['suspend', 'offboard']) {
        const res = await t.http
          .post(`/v1/tenants/${id}/${action}`)
          .set(admin())
          .send({})
          .expect(400);
        expect(res.body.errors[0].path).toBe('reason');
      }
    });

    it("refuses a suspended tenant's keys and sessions with 403 tenant_suspended until reactivated", async () => {
      const id = await tenantIn('active');
      const key = (await createTenantKey(t, id, ['tenant_admin'])).key;
      const session = (await signIn(t, ['ml_engineer'], id)).token;
      await t.http.get('/v1/me').set(bearer(key)).expect(200);
      await t.http
        .post(`/v1/tenants/${id}/suspend`)
        .set(admin())
        .send({ reason: 'unpaid' })
        .expect(200);
      for (const token of [key, session]) {
        const res = await t.http.get(`/v1/tenants/${id}`).set(bearer(token)).expect(403);
        expect(res.body.code).toBe('tenant_suspended');
        await t.http.get('/v1/me').set(bearer(token)).expect(403);
      }
      // Staff still see and manage it.
      const manager = await accountManagerFor(t, id);
      await t.http.get(`/v1/tenants/${id}`).set(bearer(manager.token)).expect(200);
      await t.http
        .post(`/v1/tenants/${id}/activate`)
        .set(bearer(manager.token))
        .send({})
        .expect(200);
      await t.http.get(`/v1/tenants/${id}`).set(bearer(key)).expect(200);
      await t.http.get('/v1/me').set(bearer(session)).expect(200);
    });

    it("ends an offboarded tenant's credentials and freezes its data", async () => {
      const id = await tenantIn('active');
      const key = (await createTenantKey(t, id, ['tenant_admin'])).key;
      await t.http
        .post(`/v1/tenants/${id}/offboard`)
        .set(admin())
        .send({ reason: 'contract ended' })
        .expect(200);
      await t.http.get('/v1/me').set(bearer(key)).expect(401);
      const res = await t.http
        .put(`/v1/tenants/${id}/compliance-profile`)
        .set(admin())
        .send(GDPR_PROFILE)
        .expect(409);
      expect(res.body.code).toBe('tenant_offboarded');
      await t.http
        .post(`/v1/tenants/${id}/contracts`)
        .set(admin())
        .send({ contractNumber: 'LATE', termStart: '2030-01-01T00:00:00Z' })
        .expect(409);
    });

    it('lets account managers activate and suspend their tenants but not offboard them', async () => {
      const id = await tenantIn('onboarding');
      const manager = await accountManagerFor(t, id);
      await t.http
        .post(`/v1/tenants/${id}/activate`)
        .set(bearer(manager.token))
        .send({})
        .expect(200);
      await t.http
        .post(`/v1/tenants/${id}/suspend`)
        .set(bearer(manager.token))
        .send({ reason: 'x' })
        .expect(200);
      await t.http
        .post(`/v1/tenants/${id}/offboard`)
        .set(bearer(manager.token))
        .send({ reason: 'x' })
        .expect(403);
      const other = await tenantIn('active');
      await t.http
        .post(`/v1/tenants/${other}/suspend`)
        .set(bearer(manager.token))
        .send({ reason: 'x' })
        .expect(404);
      const tenantAdmin = (await createTenantKey(t, other, ['tenant_admin'])).key;
      await t.http
        .post(`/v1/tenants/${other}/suspend`)
        .set(bearer(tenantAdmin))
        .send({ reason: 'x' })
        .expect(403);
    });

    it('lets two concurrent transitions of one tenant apply in turn', async () => {
      const id = await tenantIn('active');
      const answers = await Promise.all(
        [1, 2].map(() =>
          t.http.post(`/v1/tenants/${id}/suspend`).set(admin()).send({ reason: 'race' }),
        ),
      );
      expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    });
  });

  describe('account-manager assignments', () => {
    it('ends an assignment: the manager reaches the tenant no more', async () => {
      const tenant = await createTenant(t);
      const manager = await accountManagerFor(t, tenant.id);
      await t.http.get(`/v1/tenants/${tenant.id}`).set(bearer(manager.token)).expect(200);
      await t.http
        .delete(`/v1/tenants/${tenant.id}/account-managers/${manager.userId}`)
        .set(bearer(manager.token))
        .expect(403);
      await t.http
        .delete(`/v1/tenants/${tenant.id}/account-managers/${manager.userId}`)
        .set(admin())
        .expect(204);
      await t.http.get(`/v1/tenants/${tenant.id}`).set(bearer(manager.token)).expect(404);
      await t.http
        .delete(`/v1/tenants/${tenant.id}/account-managers/${manager.userId}`)
        .set(admin())
        .expect(404);
      const malformed = await t.http
        .delete(`/v1/tenants/${tenant.id}/account-managers/not-a-uuid`)
        .set(admin())
        .expect(404);
      expect(malformed.body.code).toBe('not_found');
    });
  });

  describe('regions', () => {
    it('lists the seeded catalog to any signed-in caller, filtered by zone or certification', async () => {
      const tenant = await createTenant(t);
      const viewer = (await createTenantKey(t, tenant.id, ['viewer'])).key;
      const all = await t.http.get('/v1/regions').set(bearer(viewer)).expect(200);
      expect(all.body.data.map((r: { code: string }) => r.code)).toEqual(
        expect.arrayContaining(['eu-central-1', 'eu-west-1', 'us-east-1', 'us-west-2']),
      );
      expect(all.body.data.find((r: { code: string }) => r.code === 'eu-west-1')).toMatchObject({
        dataZone: 'eu',
        certifications: expect.arrayContaining(['gdpr', 'soc2']),
        gpuCapacity: { h100: 64 },
      });
      const eu = await t.http.get('/v1/regions?dataZone=eu').set(bearer(viewer)).expect(200);
      expect(eu.body.data.every((r: { dataZone: string }) => r.dataZone === 'eu')).toBe(true);
      const fed = await t.http
        .get('/v1/regions?certification=fedramp_moderate')
        .set(bearer(viewer))
        .expect(200);
      expect(fed.body.data.map((r: { code: string }) => r.code)).toEqual(['us-east-1']);
      const page = await t.http.get('/v1/regions?limit=2').set(bearer(viewer)).expect(200);
      expect(page.body.data).toHaveLength(2);
      const next = await t.http
        .get(`/v1/regions?limit=2&after=${page.body.nextCursor}`)
        .set(bearer(viewer))
        .expect(200);
      expect(next.body.data[0].code > page.body.data[1].code).toBe(true);
      await t.http.post('/v1/regions').set(bearer(viewer)).send({}).expect(403);
    });

    it('lets the platform admin add and change regions, refusing bad input and duplicates', async () => {
      const code = `xx-test-${randomUUID().slice(0, 4)}`;
      const body = {
        code,
        name: 'Test Region',
        dataZone: 'xx',
        certifications: ['soc2'],
        gpuCapacity: { h100: 8 },
      };
      await t.http.post('/v1/regions').set(admin()).send(body).expect(201);
      const dup = await t.http.post('/v1/regions').set(admin()).send(body).expect(409);
      expect(dup.body.code).toBe('region_exists');
      for (const [bad, path] of [
        [{ ...body, code: 'Bad Code' }, 'code'],
        [{ ...body, certifications: ['made_up'] }, 'certifications'],
        [{ ...body, gpuCapacity: { h100: -1 } }, 'gpuCapacity'],
        [{ ...body, gpuCapacity: [8] }, 'gpuCapacity'],
        [{ ...body, dataZone: 'EU' }, 'dataZone'],
      ] as const) {
        const res = await t.http.post('/v1/regions').set(admin()).send(bad).expect(400);
        expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
      }
      const patched = await t.http
        .patch(`/v1/regions/${code}`)
        .set(admin())
        .send({ certifications: ['soc2', 'gdpr'], gpuCapacity: { h100: 16 } })
        .expect(200);
      expect(patched.body).toMatchObject({
        certifications: ['gdpr', 'soc2'],
        gpuCapacity: { h100: 16 },
        dataZone: 'xx',
      });
      await t.http.patch(`/v1/regions/${code}`).set(admin()).send({ dataZone: 'yy' }).expect(400);
      await t.http.patch('/v1/regions/nowhere-1').set(admin()).send({ name: 'x' }).expect(404);
    });

    it('answers 404 for any region path that is not a region code, NUL included (never 500)', async () => {
      for (const code of ['%00', 'a%00b', 'EU-WEST-1', 'x', '%E2%80%8B', 'a'.repeat(300)]) {
        for (const method of ['get', 'patch'] as const) {
          const res = await t.http[method](`/v1/regions/${code}`).set(admin()).send({ name: 'x' });
          expect({ code, method, status: res.status, problem: res.body.code }).toEqual({
            code,
            method,
            status: 404,
            problem: 'not_found',
          });
        }
      }
    });

    it('refuses to remove a certification that tenants allowing the region require (409 region_in_use)', async () => {
      const letters = () =>
        Array.from({ length: 8 }, () =>
          String.fromCharCode(97 + Math.floor(Math.random() * 26)),
        ).join('');
      const zone = letters();
      const code = `${zone}-north-1`;
      await t.http
        .post('/v1/regions')
        .set(admin())
        .send({ code, name: 'Test', dataZone: zone, certifications: ['hipaa', 'soc2', 'gdpr'] })
        .expect(201);
      const profile = {
        allowedRegions: [] as string[],
        allowedDataZones: [] as string[],
        allowedModelFamilies: [],
        dataClassification: 'restricted',
        requiredCertifications: ['hipaa'],
        auditRetentionDays: 2190,
      };
      const byCode = await createTenant(t);
      await t.http
        .put(`/v1/tenants/${byCode.id}/compliance-profile`)
        .set(admin())
        .send({ ...profile, allowedRegions: [code] })
        .expect(200);
      const byZone = await createTenant(t);
      await t.http
        .put(`/v1/tenants/${byZone.id}/compliance-profile`)
        .set(admin())
        .send({ ...profile, allowedDataZones: [zone] })
        .expect(200);
      // Gone tenants no longer count.
      const gone = await createTenant(t);
      await t.http
        .put(`/v1/tenants/${gone.id}/compliance-profile`)
        .set(admin())
        .send({ ...profile, allowedRegions: [code] })
        .expect(200);
      await t.http
        .post(`/v1/tenants/${gone.id}/offboard`)
        .set(admin())
        .send({ reason: 'left' })
        .expect(200);

      const res = await t.http
        .patch(`/v1/regions/${code}`)
        .set(admin())
        .send({ certifications: ['soc2', 'gdpr'] })
        .expect(409);
      expect(res.body).toMatchObject({
        code: 'region_in_use',
        tenantCount: 2,
        certifications: ['hipaa'],
        errors: [{ path: 'certifications' }],
      });
      expect([...res.body.tenantIds].sort()).toEqual([byCode.id, byZone.id].sort());
      const region = await t.http.get(`/v1/regions/${code}`).set(admin()).expect(200);
      expect(region.body.certifications).toEqual(['gdpr', 'hipaa', 'soc2']);

      // A certification nobody requires may go; so may hipaa once no live profile needs it.
      await t.http
        .patch(`/v1/regions/${code}`)
        .set(admin())
        .send({ certifications: ['hipaa', 'gdpr'] })
        .expect(200);
      for (const tenant of [byCode, byZone]) {
        await t.http
          .put(`/v1/tenants/${tenant.id}/compliance-profile`)
          .set(admin())
          .send({ ...profile, requiredCertifications: ['gdpr'] })
          .expect(200);
      }
      await t.http
        .patch(`/v1/regions/${code}`)
        .set(admin())
        .send({ certifications: ['gdpr'] })
        .expect(200);
    });
  });
});
