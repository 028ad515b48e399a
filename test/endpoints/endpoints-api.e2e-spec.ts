import {
  activeContract,
  bearer,
  createTenant,
  platformAdminKey,
  retireEndpoints,
  signIn,
  TestApp,
} from '@app/testing';
import { CatalogService } from '@app/endpoints';
import { TenantDb, asTenantId } from '@app/authz';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());

/** GDPR in the EU, llama models only. */
const EU_LLAMA = {
  allowedRegions: [],
  allowedDataZones: ['eu'],
  allowedModelFamilies: ['llama'],
  dataClassification: 'confidential',
  requiredCertifications: ['gdpr'],
  auditRetentionDays: 365,
};

/**
 * The endpoints API without a worker: the catalog, creation checks (each refusal its own problem
 * type), validation, tenant isolation and the lifecycle's refusals. Provisioning is in
 * endpoint-lifecycle.e2e-spec.ts.
 */
describe('dedicated endpoints API (catalog, compliance and quota checks)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(async () => {
    await retireEndpoints(t);
    await t.close();
  });

  /** A tenant with a profile, a contract (unless `lines` is null) and an ML engineer. */
  async function tenantWith(
    profile: Record<string, unknown> = EU_LLAMA,
    lines: { metric: string; limit: number; enforcement: 'hard' | 'soft' }[] | null = [
      { metric: 'dedicated_endpoints', limit: 50, enforcement: 'hard' },
    ],
  ): Promise<{ id: string; engineer: string; path: string }> {
    const tenant = await createTenant(t);
    await t.http
      .put(`/v1/tenants/${tenant.id}/compliance-profile`)
      .set(admin())
      .send(profile)
      .expect(200);
    if (lines) {
      await activeContract(
        t,
        tenant.id,
        lines.map((l) => ({ ...l, period: 'term' as const })),
      );
    }
    const engineer = (await signIn(t, ['ml_engineer'], tenant.id)).token;
    return { id: tenant.id, engineer, path: `/v1/tenants/${tenant.id}/endpoints` };
  }

  const spec = (overrides: Record<string, unknown> = {}) => ({
    name: `ep-${randomUUID().slice(0, 8)}`,
    model: 'llama-3-8b-local',
    region: 'eu-west-1',
    minReplicas: 1,
    maxReplicas: 1,
    ...overrides,
  });

  describe('catalog', () => {
    it('lists the seeded base models with their facts to any signed-in user', async () => {
      const { engineer } = await tenantWith();
      const res = await t.http
        .get('/v1/catalog/models?limit=100')
        .set(bearer(engineer))
        .expect(200);
      const llama = res.body.data.find((m: { id: string }) => m.id === 'llama-3-8b-local');
      expect(llama).toMatchObject({
        object: 'model',
        family: 'llama',
        modality: 'chat',
        contextLength: 8192,
        gpuType: 'h100',
        gpusPerReplica: 1,
        fineTunable: true,
        tenantId: null,
      });
      const embedding = await t.http
        .get('/v1/catalog/models?modality=embedding')
        .set(bearer(engineer))
        .expect(200);
      expect(embedding.body.data.map((m: { id: string }) => m.id)).toContain('e5-small-local');
    });

    it("shows a fine-tuned model only to its own tenant (another tenant's is 404)", async () => {
      const owner = await tenantWith();
      const other = await tenantWith();
      const id = `ft:llama-3-8b-local:${owner.id.slice(0, 8)}:support:${randomUUID().slice(0, 8)}`;
      await t.app.get(TenantDb).run({ kind: 'tenant', tenantId: asTenantId(owner.id) }, () =>
        t.app.get(CatalogService).registerFineTuned(asTenantId(owner.id), {
          id,
          baseModelId: 'llama-3-8b-local',
          artifactUri: '/tmp/none.json',
        }),
      );
      const mine = await t.http.get('/v1/catalog/models?limit=100').set(bearer(owner.engineer));
      expect(mine.body.data.find((m: { id: string }) => m.id === id)).toMatchObject({
        tenantId: owner.id,
        baseModelId: 'llama-3-8b-local',
        family: 'llama',
      });
      const theirs = await t.http.get('/v1/catalog/models?limit=100').set(bearer(other.engineer));
      expect(theirs.body.data.map((m: { id: string }) => m.id)).not.toContain(id);
      await t.http
        .get(`/v1/catalog/models/${encodeURIComponent(id)}`)
        .set(bearer(other.engineer))
        .expect(404);
      // Nor can another tenant deploy it.
      const res = await t.http
        .post(other.path)
        .set(bearer(other.engineer))
        .send(spec({ model: id }))
        .expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'model' })]);
    });

    it('lets only platform admins add and change base models, validating regions and GPUs', async () => {
      const { engineer } = await tenantWith();
      const id = `test-model-${randomUUID().slice(0, 8)}`;
      const body = {
        id,
        family: 'llama',
        modality: 'chat',
        contextLength: 4096,
        regions: ['eu-west-1'],
        gpuType: 'h100',
        gpusPerReplica: 2,
      };
      await t.http.post('/v1/catalog/models').set(bearer(engineer)).send(body).expect(403);
      const bad = await t.http
        .post('/v1/catalog/models')
        .set(admin())
        .send({ ...body, regions: ['eu-west-1', 'ap-northeast-1'] })
        .expect(400);
      expect(bad.body.errors).toEqual([
        { path: 'regions[1]', message: 'ap-northeast-1 has no h100 GPUs' },
      ]);
      await t.http.post('/v1/catalog/models').set(admin()).send(body).expect(201);
      const again = await t.http.post('/v1/catalog/models').set(admin()).send(body).expect(409);
      expect(again.body.code).toBe('catalog_model_exists');
      const patched = await t.http
        .patch(`/v1/catalog/models/${id}`)
        .set(admin())
        .send({ contextLength: 8192 })
        .expect(200);
      expect(patched.body.contextLength).toBe(8192);
      await t.http.patch(`/v1/catalog/models/${id}`).set(admin()).send({}).expect(400);
      await t.http
        .post('/v1/catalog/models')
        .set(admin())
        .send({ ...body, id: 'Bad Id', gpusPerReplica: 0 })
        .expect(400);
    });
  });

  describe('creation', () => {
    it('creates a pending endpoint with its desired spec and a first history entry', async () => {
      const { path, engineer } = await tenantWith();
      const res = await t.http
        .post(path)
        .set(bearer(engineer))
        .send(
          spec({
            name: 'support-bot',
            maxReplicas: 3,
            autoscaling: { targetConcurrentRequests: 4 },
          }),
        )
        .expect(201);
      expect(res.body).toMatchObject({
        name: 'support-bot',
        model: 'llama-3-8b-local',
        region: 'eu-west-1',
        status: 'pending',
        provider: 'local',
        gpuType: 'h100',
        gpusPerReplica: 1,
        desired: {
          state: 'running',
          replicas: 1,
          minReplicas: 1,
          maxReplicas: 3,
          autoscaling: { targetConcurrentRequests: 4, scaleDownDelayMs: 300000 },
          generation: 1,
        },
        observed: { replicas: 0, readyReplicas: 0, generation: null },
        url: 'http://localhost:3001/v1',
      });
      const events = await t.http
        .get(`${path}/${res.body.id}/events`)
        .set(bearer(engineer))
        .expect(200);
      expect(events.body.data).toEqual([
        expect.objectContaining({ type: 'requested.create', toStatus: 'pending' }),
      ]);
      const list = await t.http.get(path).set(bearer(engineer)).expect(200);
      expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([res.body.id]);
      const dup = await t.http
        .post(path)
        .set(bearer(engineer))
        .send(spec({ name: 'support-bot' }))
        .expect(409);
      expect(dup.body).toMatchObject({
        code: 'endpoint_name_taken',
        errors: [{ path: 'name', message: 'is already in use' }],
      });
    });

    it('refuses a region outside the allowed regions and data zones: region_not_allowed', async () => {
      const { path, engineer } = await tenantWith();
      const res = await t.http
        .post(path)
        .set(bearer(engineer))
        .send(spec({ region: 'us-east-1' }))
        .expect(403);
      expect(res.body).toMatchObject({ code: 'region_not_allowed', region: 'us-east-1' });
    });

    it('refuses a region lacking a required certification: region_missing_certification', async () => {
      const { path, engineer } = await tenantWith({
        ...EU_LLAMA,
        requiredCertifications: ['gdpr', 'hipaa'],
        auditRetentionDays: 2190,
      });
      const res = await t.http
        .post(path)
        .set(bearer(engineer))
        .send(spec({ region: 'eu-central-1' }))
        .expect(403);
      expect(res.body).toMatchObject({
        code: 'region_missing_certification',
        missingCertifications: ['hipaa'],
      });
      // eu-west-1 holds both.
      await t.http.post(path).set(bearer(engineer)).send(spec()).expect(201);
    });

    it('refuses a model family the profile does not allow: model_family_not_allowed', async () => {
      const { path, engineer } = await tenantWith();
      const res = await t.http
        .post(path)
        .set(bearer(engineer))
        .send(spec({ model: 'mistral-7b-local', region: 'eu-central-1' }))
        .expect(403);
      expect(res.body).toMatchObject({ code: 'model_family_not_allowed', family: 'mistral' });
    });

    it('refuses a model the catalog does not offer in the region: model_not_offered_in_region', async () => {
      const { path, engineer } = await tenantWith({
        ...EU_LLAMA,
        allowedModelFamilies: ['llama', 'mistral'],
      });
      const res = await t.http
        .post(path)
        .set(bearer(engineer))
        .send(spec({ model: 'mistral-7b-local', region: 'eu-west-1' }))
        .expect(422);
      expect(res.body).toMatchObject({
        code: 'model_not_offered_in_region',
        regions: ['eu-central-1', 'us-east-1', 'ap-northeast-1'],
      });
    });

    it('refuses past the contract’s hard dedicated_endpoints line: endpoint_quota_exceeded', async () => {
      const { path, engineer } = await tenantWith(EU_LLAMA, [
        { metric: 'dedicated_endpoints', limit: 1, enforcement: 'hard' },
      ]);
      await t.http.post(path).set(bearer(engineer)).send(spec()).expect(201);
      const res = await t.http.post(path).set(bearer(engineer)).send(spec()).expect(409);
      expect(res.body).toMatchObject({ code: 'endpoint_quota_exceeded', limit: 1, used: 1 });
      const quotas = await t.http.get(path.replace('/endpoints', '/quotas')).set(admin());
      expect(quotas.body.data).toEqual([
        expect.objectContaining({ metric: 'dedicated_endpoints', used: 1 }),
      ]);
    });

    it('refuses concurrent creations beyond the line: exactly the limit are created', async () => {
      const { path, engineer } = await tenantWith(EU_LLAMA, [
        { metric: 'dedicated_endpoints', limit: 3, enforcement: 'hard' },
      ]);
      const results = await Promise.all(
        Array.from({ length: 8 }, () => t.http.post(path).set(bearer(engineer)).send(spec())),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(3);
      expect(results.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(
        Array(5).fill('endpoint_quota_exceeded'),
      );
    });

    it('refuses a tenant without a contract in force: no_contract_in_force', async () => {
      const { path, engineer } = await tenantWith(EU_LLAMA, null);
      const res = await t.http.post(path).set(bearer(engineer)).send(spec()).expect(409);
      expect(res.body.code).toBe('no_contract_in_force');
    });

    it('refuses what the region’s GPUs cannot hold, counting every tenant: region_capacity_exhausted', async () => {
      const code = `zz-cap${randomUUID()
        .slice(0, 6)
        .replace(/[^a-z0-9]/g, 'a')}-1`;
      await t.http
        .post('/v1/regions')
        .set(admin())
        .send({
          code,
          name: 'Capacity test',
          dataZone: 'eu',
          certifications: ['gdpr'],
          gpuCapacity: { h100: 3 },
        })
        .expect(201);
      const model = `cap-${randomUUID().slice(0, 8)}`;
      await t.http
        .post('/v1/catalog/models')
        .set(admin())
        .send({
          id: model,
          family: 'llama',
          modality: 'chat',
          contextLength: 2048,
          regions: [code],
          gpuType: 'h100',
          gpusPerReplica: 1,
        })
        .expect(201);
      const a = await tenantWith();
      const b = await tenantWith();
      const inRegion = (o: Record<string, unknown>) => spec({ model, region: code, ...o });
      const tooBig = await t.http
        .post(a.path)
        .set(bearer(a.engineer))
        .send(inRegion({ maxReplicas: 4 }))
        .expect(409);
      expect(tooBig.body).toMatchObject({
        code: 'region_capacity_exhausted',
        capacity: 3,
        allocated: 0,
        requested: 4,
      });
      const first = await t.http
        .post(a.path)
        .set(bearer(a.engineer))
        .send(inRegion({ maxReplicas: 2 }))
        .expect(201);
      const other = await t.http
        .post(b.path)
        .set(bearer(b.engineer))
        .send(inRegion({ maxReplicas: 2 }))
        .expect(409);
      expect(other.body).toMatchObject({ code: 'region_capacity_exhausted', allocated: 2 });
      // Scaling up is checked the same way (its own GPUs count once).
      const scale = await t.http
        .patch(`${a.path}/${first.body.id}`)
        .set(bearer(a.engineer))
        .send({ maxReplicas: 4 })
        .expect(409);
      expect(scale.body.code).toBe('region_capacity_exhausted');
      await t.http
        .patch(`${a.path}/${first.body.id}`)
        .set(bearer(a.engineer))
        .send({ maxReplicas: 3 })
        .expect(200);
      // A stopped endpoint holds no GPUs; starting it takes them again.
      await t.http
        .post(`${a.path}/${first.body.id}/stop`)
        .set(bearer(a.engineer))
        .send({})
        .expect(202);
      await t.http
        .post(b.path)
        .set(bearer(b.engineer))
        .send(inRegion({ maxReplicas: 1 }))
        .expect(201);
    });

    it('refuses a suspended tenant’s endpoints even to staff: tenant_suspended', async () => {
      const { id, path } = await tenantWith();
      await t.http.post(`/v1/tenants/${id}/activate`).set(admin()).send({}).expect(200);
      await t.http
        .post(`/v1/tenants/${id}/suspend`)
        .set(admin())
        .send({ reason: 'unpaid' })
        .expect(200);
      const res = await t.http.post(path).set(admin()).send(spec()).expect(403);
      expect(res.body.code).toBe('tenant_suspended');
    });

    it.each([
      ['a name that is not a DNS label', { name: 'Support Bot' }, 'name'],
      ['minReplicas above maxReplicas', { minReplicas: 3, maxReplicas: 2 }, 'minReplicas'],
      ['more than 64 replicas', { maxReplicas: 65 }, 'maxReplicas'],
      ['an unknown model', { model: 'no-such-model' }, 'model'],
      ['an unknown region', { region: 'xx-nowhere-1' }, 'region'],
      ['a bad autoscaling target', { autoscaling: { targetConcurrentRequests: 0 } }, 'autoscaling'],
      ['an unknown field', { gpuType: 'h100' }, 'gpuType'],
      ['an autoscaling policy that is not an object', { autoscaling: [] }, 'autoscaling'],
    ])('answers 400 with field errors for %s, creating nothing', async (_name, change, field) => {
      const { path, engineer } = await tenantWith();
      const res = await t.http.post(path).set(bearer(engineer)).send(spec(change)).expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.map((e: { path: string }) => e.path.split(/[.[]/)[0])).toContain(
        field,
      );
      const list = await t.http.get(path).set(bearer(engineer)).expect(200);
      expect(list.body.data).toEqual([]);
    });
  });

  describe('access', () => {
    it("answers 404 for another tenant's endpoint, whichever path names it", async () => {
      const a = await tenantWith();
      const b = await tenantWith();
      const { body } = await t.http.post(a.path).set(bearer(a.engineer)).send(spec()).expect(201);
      await t.http.get(`${a.path}/${body.id}`).set(bearer(b.engineer)).expect(404);
      await t.http.get(`${b.path}/${body.id}`).set(bearer(b.engineer)).expect(404);
      await t.http
        .patch(`${b.path}/${body.id}`)
        .set(bearer(b.engineer))
        .send({ replicas: 1 })
        .expect(404);
      await t.http.post(`${b.path}/${body.id}/stop`).set(bearer(b.engineer)).send({}).expect(404);
      await t.http.delete(`${b.path}/${body.id}`).set(bearer(b.engineer)).expect(404);
      await t.http.get(`${b.path}/${body.id}/events`).set(bearer(b.engineer)).expect(404);
      await t.http.get(`${b.path}/not-a-uuid`).set(bearer(b.engineer)).expect(404);
    });

    it('lets viewers read but not change endpoints', async () => {
      const { id, path, engineer } = await tenantWith();
      const viewer = (await signIn(t, ['viewer'], id)).token;
      const { body } = await t.http.post(path).set(bearer(engineer)).send(spec()).expect(201);
      await t.http.get(`${path}/${body.id}`).set(bearer(viewer)).expect(200);
      const res = await t.http.post(path).set(bearer(viewer)).send(spec()).expect(403);
      expect(res.body.code).toBe('missing_permission');
      await t.http.post(`${path}/${body.id}/stop`).set(bearer(viewer)).send({}).expect(403);
    });
  });

  describe('lifecycle requests', () => {
    it('answers 409 illegal_endpoint_transition for a request the status does not allow', async () => {
      const { path, engineer } = await tenantWith();
      const { body } = await t.http.post(path).set(bearer(engineer)).send(spec()).expect(201);
      const start = await t.http
        .post(`${path}/${body.id}/start`)
        .set(bearer(engineer))
        .send({})
        .expect(409);
      expect(start.body).toMatchObject({
        code: 'illegal_endpoint_transition',
        endpointStatus: 'pending',
        allowed: ['update', 'stop', 'delete'],
      });
      await t.http.delete(`${path}/${body.id}`).set(bearer(engineer)).expect(202);
      for (const request of ['stop', 'start']) {
        const res = await t.http
          .post(`${path}/${body.id}/${request}`)
          .set(bearer(engineer))
          .send({})
          .expect(409);
        expect(res.body).toMatchObject({ endpointStatus: 'deleting', allowed: [] });
      }
      await t.http
        .patch(`${path}/${body.id}`)
        .set(bearer(engineer))
        .send({ replicas: 1 })
        .expect(409);
      await t.http.delete(`${path}/${body.id}`).set(bearer(engineer)).expect(409);
    });

    it('answers 409 endpoint_name_taken to concurrent creations of one name, one wins', async () => {
      const { path, engineer } = await tenantWith();
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          t.http
            .post(path)
            .set(bearer(engineer))
            .send(spec({ name: 'same' })),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
      expect(results.filter((r) => r.status === 409).map((r) => r.body)).toEqual(
        Array(5).fill(
          expect.objectContaining({
            code: 'endpoint_name_taken',
            errors: [{ path: 'name', message: 'is already in use' }],
          }),
        ),
      );
    });

    it('refuses a model change to another modality, and null as a change', async () => {
      const { path, engineer } = await tenantWith({
        ...EU_LLAMA,
        allowedModelFamilies: ['llama', 'e5'],
      });
      const { body } = await t.http.post(path).set(bearer(engineer)).send(spec()).expect(201);
      const res = await t.http
        .patch(`${path}/${body.id}`)
        .set(bearer(engineer))
        .send({ model: 'e5-small-local' })
        .expect(400);
      expect(res.body.errors[0]).toMatchObject({ path: 'model' });
      await t.http
        .patch(`${path}/${body.id}`)
        .set(bearer(engineer))
        .send({ minReplicas: null })
        .expect(400);
    });

    it('validates updates: an empty change, min above max, replicas outside them', async () => {
      const { path, engineer } = await tenantWith();
      const { body } = await t.http
        .post(path)
        .set(bearer(engineer))
        .send(spec({ maxReplicas: 2 }))
        .expect(201);
      const url = `${path}/${body.id}`;
      await t.http.patch(url).set(bearer(engineer)).send({}).expect(400);
      const minMax = await t.http
        .patch(url)
        .set(bearer(engineer))
        .send({ minReplicas: 3 })
        .expect(400);
      expect(minMax.body.errors[0].path).toBe('minReplicas');
      const replicas = await t.http
        .patch(url)
        .set(bearer(engineer))
        .send({ replicas: 3 })
        .expect(400);
      expect(replicas.body.errors[0].path).toBe('replicas');
      const ok = await t.http.patch(url).set(bearer(engineer)).send({ replicas: 2 }).expect(200);
      expect(ok.body.desired).toMatchObject({ replicas: 2, generation: 1 });
    });

    it('audits requests, with the refused ones as failures', async () => {
      const { id, path, engineer } = await tenantWith();
      const { body } = await t.http.post(path).set(bearer(engineer)).send(spec()).expect(201);
      await t.http
        .post(path)
        .set(bearer(engineer))
        .send(spec({ region: 'us-east-1' }))
        .expect(403);
      const res = await t.http
        .get(`/v1/tenants/${id}/audit/events?resourceType=endpoint&limit=100`)
        .set(admin())
        .expect(200);
      const actions = res.body.data.map((e: { action: string; outcome: string }) => [
        e.action,
        e.outcome,
      ]);
      expect(actions).toEqual(
        expect.arrayContaining([
          ['endpoint.create', 'success'],
          ['endpoint.create', expect.stringMatching(/failure|denied/)],
        ]),
      );
      expect(
        res.body.data.find((e: { resource: { id: string } }) => e.resource?.id === body.id),
      ).toBeDefined();
    });
  });
});
