import { asTenantId, TenantDb } from '@app/authz';
import { Endpoint, EndpointReconciler, LocalProvider } from '@app/endpoints';
import {
  deployableTenant,
  bearer,
  expectEventually,
  ledgerSum,
  platformAdminKey,
  retireEndpoints,
  signIn,
  TestApp,
} from '@app/testing';
import { modelServerCommand } from '@app/language-model';
import { spawn } from 'node:child_process';
import OpenAI from 'openai';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';

const admin = () => bearer(platformAdminKey());
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies as the API sends them
type Body = Record<string, any>;
const CONVERGE_MS = 60_000;
jest.setTimeout(240_000);

/**
 * The whole lifecycle with the `local` provider: real model-server processes started by the
 * worker's reconciler, answering OpenAI-compatible requests; every transition recorded as an
 * endpoint event and an audit event; GPU-hours and the endpoint level metered.
 */
/** Drops transient `<prefix>.degrade` entries and the repeated `converge` that follows each. */
function steady(entries: string[], prefix: string): string[] {
  return entries
    .filter((e) => e !== `${prefix}.degrade`)
    .filter((e, i, all) => !(e === `${prefix}.converge` && all[i - 1] === e));
}

describe('dedicated endpoint lifecycle (worker reconciler, local provider)', () => {
  let api: TestApp;
  let worker: TestApp;

  beforeAll(async () => {
    api = await startApi();
    worker = await startWorker({
      env: { ENDPOINT_RECONCILE_INTERVAL_MS: '500', LOCAL_MODEL_TOKEN_LATENCY_MS: '5' },
    });
  });
  afterAll(async () => {
    await worker.close();
    await retireEndpoints(api);
    await api.close();
  });

  async function tenantWithEngineer(): Promise<{ id: string; engineer: string; path: string }> {
    const id = await deployableTenant(api, {
      profile: { requiredCertifications: ['gdpr'] },
      lines: [{ metric: 'gpu_hours', limit: 1000, enforcement: 'soft' }],
    });
    const engineer = (await signIn(api, ['ml_engineer'], id)).token;
    return { id, engineer, path: `/v1/tenants/${id}/endpoints` };
  }

  /** The stored observed state (replica addresses are not in the API's answer). */
  async function stored(tenantId: string, id: string): Promise<Endpoint> {
    return worker.app
      .get(TenantDb)
      .inTenant(asTenantId(tenantId), (m) =>
        m.getRepository(Endpoint).findOneByOrFail({ tenantId, id }),
      );
  }

  async function waitFor(
    url: string,
    token: string,
    check: (body: Body) => boolean,
  ): Promise<Body> {
    let last: Body = {};
    await expectEventually(
      async () => {
        last = (await api.http.get(url).set(bearer(token)).expect(200)).body;
        expect(check(last) ? 'ok' : `status ${last.status}, ${JSON.stringify(last.observed)}`).toBe(
          'ok',
        );
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    return last;
  }

  async function eventTypes(path: string, id: string, token: string): Promise<string[]> {
    const res = await api.http.get(`${path}/${id}/events?limit=100`).set(bearer(token)).expect(200);
    return res.body.data.map((e: { type: string }) => e.type).reverse();
  }

  /** Creates a one-replica llama endpoint and waits until it runs. @returns its id and URL */
  async function deployed(path: string, token: string, name: string) {
    const created = await api.http
      .post(path)
      .set(bearer(token))
      .send({
        name,
        model: 'llama-3-8b-local',
        region: 'eu-west-1',
        minReplicas: 1,
        maxReplicas: 1,
      })
      .expect(201);
    const url = `${path}/${created.body.id}`;
    await waitFor(url, token, (b) => b.status === 'running');
    return { id: created.body.id as string, url };
  }

  async function deleted(url: string, token: string): Promise<void> {
    await api.http.delete(url).set(bearer(token)).expect(202);
    await waitFor(url, token, (b) => b.status === 'deleted');
  }

  it('runs create → running → completion → scale to 2 → stop → start → delete, recorded and audited', async () => {
    const { id: tenantId, engineer, path } = await tenantWithEngineer();
    const created = await api.http
      .post(path)
      .set(bearer(engineer))
      .send({
        name: 'chat',
        model: 'llama-3-8b-local',
        region: 'eu-west-1',
        minReplicas: 1,
        maxReplicas: 2,
      })
      .expect(201);
    const url = `${path}/${created.body.id}`;
    const running = await waitFor(url, engineer, (b) => b.status === 'running');
    expect(running.observed).toMatchObject({ replicas: 1, readyReplicas: 1, generation: 1 });

    // The real process answers an OpenAI chat completion.
    const [replica] = (await stored(tenantId, created.body.id)).observed.replicas;
    const client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: 'unused' });
    const completion = await client.chat.completions.create({
      model: 'llama-3-8b-local',
      messages: [{ role: 'user', content: 'A long speech, please.' }],
      max_tokens: 12,
      // The small model may end its turn at once; this seed makes it speak (~50 tokens).
      seed: 5,
    });
    expect(completion.choices[0].message.content?.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);

    await api.http.patch(url).set(bearer(engineer)).send({ replicas: 2 }).expect(200);
    const scaled = await waitFor(
      url,
      engineer,
      (b) => b.status === 'running' && b.observed.readyReplicas === 2,
    );
    expect(scaled.desired.replicas).toBe(2);

    await api.http.post(`${url}/stop`).set(bearer(engineer)).send({}).expect(202);
    const stopped = await waitFor(url, engineer, (b) => b.status === 'stopped');
    expect(stopped.observed.replicas).toBe(0);
    await expect(fetch(`${replica.url}/health`)).rejects.toThrow();

    await api.http.post(`${url}/start`).set(bearer(engineer)).send({}).expect(202);
    await waitFor(url, engineer, (b) => b.status === 'running' && b.observed.readyReplicas === 2);

    await api.http.delete(url).set(bearer(engineer)).expect(202);
    const deleted = await waitFor(url, engineer, (b) => b.status === 'deleted');
    expect(deleted.deletedAt).not.toBeNull();
    expect(deleted.url).toBeNull();
    expect(running.url).toBe('http://localhost:3001/v1');
    // A started GPU-hour is billed whole at deletion; the endpoint no longer counts.
    expect(deleted.gpuHoursRecorded).toBe(1);

    const types = await eventTypes(path, created.body.id, engineer);
    // A replica slow to answer its health check on a loaded machine shows as a brief
    // degrade/converge pair; the path of requests and outcomes is what this test pins.
    const statusPath = steady(
      types.filter((t) => t.startsWith('status.') || t.startsWith('requested.')),
      'status',
    );
    expect(statusPath).toEqual([
      'requested.create',
      'status.provision',
      'status.converge',
      'requested.update',
      'status.converge',
      'requested.stop',
      'status.stopped',
      'requested.start',
      'status.converge',
      'requested.delete',
      'status.deleted',
    ]);
    expect(types.filter((t) => t === 'replica.started')).toHaveLength(4);
    // Stopped and deleted replicas were stopped, not lost.
    expect(types.filter((t) => t === 'replica.stopped')).toHaveLength(4);
    expect(types).not.toContain('replica.exited');

    const audit = await api.http
      .get(
        `/v1/tenants/${tenantId}/audit/events?resourceType=endpoint&resourceId=${created.body.id}&limit=100`,
      )
      .set(admin())
      .expect(200);
    const actions = steady(
      audit.body.data.map((e: { action: string }) => e.action).reverse(),
      'endpoint',
    );
    expect(actions).toEqual([
      'endpoint.create',
      'endpoint.provision',
      'endpoint.converge',
      'endpoint.update',
      'endpoint.converge',
      'endpoint.stop',
      'endpoint.stopped',
      'endpoint.start',
      'endpoint.converge',
      'endpoint.delete',
      'endpoint.deleted',
    ]);

    const usage = (metric: string) => ledgerSum(api, tenantId, metric);
    expect(await usage('gpu_hours')).toBe(1);
    expect(await usage('dedicated_endpoints')).toBe(0);
  });

  it('turns degraded when a replica process is killed, restarts it and returns to running', async () => {
    const { id: tenantId, engineer, path } = await tenantWithEngineer();
    const { id, url } = await deployed(path, engineer, 'fragile');
    const [victim] = (await stored(tenantId, id)).observed.replicas;
    process.kill((victim.handle as { pid: number }).pid, 'SIGKILL');

    await expectEventually(
      async () => expect(await eventTypes(path, id, engineer)).toContain('status.degrade'),
      { timeoutMs: CONVERGE_MS },
    );
    const recovered = await waitFor(
      url,
      engineer,
      (b) => b.status === 'running' && b.observed.readyReplicas === 1,
    );
    expect(recovered.observed.replicaDetails[0].id).not.toBe(victim.id);
    const types = await eventTypes(path, id, engineer);
    expect(types).toEqual(
      expect.arrayContaining(['replica.exited', 'status.degrade', 'status.converge']),
    );
    expect(types.lastIndexOf('status.converge')).toBeGreaterThan(types.indexOf('status.degrade'));
    await deleted(url, engineer);
  });

  it("scales a suspended tenant's endpoints to zero and back when it is reactivated", async () => {
    const { id: tenantId, engineer, path } = await tenantWithEngineer();
    const { url } = await deployed(path, engineer, 'paused');
    await api.http
      .post(`/v1/tenants/${tenantId}/suspend`)
      .set(admin())
      .send({ reason: 'unpaid' })
      .expect(200);
    const suspended = await waitFor(url, platformAdminKey(), (b) => b.status === 'degraded');
    expect(suspended).toMatchObject({
      statusReason: 'tenant suspended: scaled to zero',
      observed: { replicas: 0 },
      desired: { state: 'running' },
    });
    await api.http.post(`/v1/tenants/${tenantId}/activate`).set(admin()).send({}).expect(200);
    await waitFor(url, engineer, (b) => b.status === 'running' && b.observed.readyReplicas === 1);
    await deleted(url, engineer);
  });

  it('scales out under load and back in after the scale-down delay', async () => {
    const { id: tenantId, engineer, path } = await tenantWithEngineer();
    const created = await api.http
      .post(path)
      .set(bearer(engineer))
      .send({
        name: 'elastic',
        model: 'llama-3-8b-local',
        region: 'eu-west-1',
        minReplicas: 1,
        maxReplicas: 2,
        autoscaling: { targetConcurrentRequests: 1, scaleDownDelayMs: 1000 },
      })
      .expect(201);
    const url = `${path}/${created.body.id}`;
    await waitFor(url, engineer, (b) => b.status === 'running');
    const [replica] = (await stored(tenantId, created.body.id)).observed.replicas;
    // Four clients keep requests in flight on the one replica until it has company.
    let loading = true;
    const client = async () => {
      while (loading) {
        await fetch(`${replica.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'llama-3-8b-local',
            prompt: 'First Citizen:',
            max_tokens: 200,
          }),
        });
      }
    };
    const clients = Array.from({ length: 4 }, client);
    try {
      const out = await waitFor(
        url,
        engineer,
        (b) => b.desired.replicas === 2 && b.observed.readyReplicas === 2,
      );
      expect(out.status).toBe('running');
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    const back = await waitFor(
      url,
      engineer,
      (b) => b.status === 'running' && b.desired.replicas === 1 && b.observed.replicas === 1,
    );
    expect(back.observed.readyReplicas).toBe(1);
    const events = await api.http.get(`${url}/events?limit=100`).set(bearer(engineer)).expect(200);
    const autoscales = events.body.data
      .filter((e: { type: string }) => e.type === 'autoscale')
      .map((e: { details: { from: number; to: number } }) => [e.details.from, e.details.to])
      .reverse();
    expect(autoscales).toEqual([
      [1, 2],
      [2, 1],
    ]);
    await deleted(url, engineer);
  });

  it('runs one reconcile at a time per endpoint: concurrent runs never start extra replicas', async () => {
    const { id: tenantId, engineer, path } = await tenantWithEngineer();
    const created = await api.http
      .post(path)
      .set(bearer(engineer))
      .send({
        name: 'racy',
        model: 'llama-3-8b-local',
        region: 'eu-west-1',
        minReplicas: 1,
        maxReplicas: 1,
      })
      .expect(201);
    const reconciler = worker.app.get(EndpointReconciler);
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, () => reconciler.reconcile(asTenantId(tenantId), created.body.id)),
    );
    expect(outcomes.filter((o) => o === 'busy').length).toBeGreaterThanOrEqual(1);
    const url = `${path}/${created.body.id}`;
    await waitFor(url, engineer, (b) => b.status === 'running');
    const types = await eventTypes(path, created.body.id, engineer);
    expect(types.filter((t) => t === 'replica.started')).toHaveLength(1);
    await deleted(url, engineer);
  });
});

describe('a worker that dies leaves its replicas running; the next one adopts them', () => {
  it('resumes without provisioning twice', async () => {
    const api = await startApi();
    const first = await startWorker({ env: { ENDPOINT_RECONCILE_INTERVAL_MS: '1000' } });
    let second: TestApp | undefined;
    try {
      const tenant = { id: await deployableTenant(api, { activate: false }) };
      const path = `/v1/tenants/${tenant.id}/endpoints`;
      const { body } = await api.http
        .post(path)
        .set(admin())
        .send({
          name: 'survivor',
          model: 'llama-3-8b-local',
          region: 'eu-west-1',
          minReplicas: 1,
          maxReplicas: 2,
        })
        .expect(201);
      const url = `${path}/${body.id}`;
      const running = async () =>
        expectEventually(
          async () => {
            const res = await api.http.get(url).set(admin()).expect(200);
            expect(res.body.status).toBe('running');
            return res.body;
          },
          { timeoutMs: CONVERGE_MS, intervalMs: 200 },
        );
      const before = await running();
      const original = before.observed.replicaDetails[0].id;
      // A SIGKILLed worker stops nothing: forget the children as its death would, then go.
      (
        first.app.get(LocalProvider) as unknown as { replicas: Map<string, unknown> }
      ).replicas.clear();
      await first.close();

      // And one it started but never recorded (killed in between): the next worker stops it.
      const { command, args, cwd } = modelServerCommand();
      const stray = spawn(
        command,
        [...args, '--model', 'llama-3-8b-local', '--endpoint-id', body.id, '--port', '0'],
        { cwd, stdio: 'ignore' },
      );
      const strayExit = new Promise((resolve) => stray.once('exit', resolve));

      second = await startWorker({ env: { ENDPOINT_RECONCILE_INTERVAL_MS: '1000' } });
      await api.http.patch(url).set(admin()).send({ replicas: 2 }).expect(200);
      await expectEventually(
        async () => {
          const res = await api.http.get(url).set(admin()).expect(200);
          expect(res.body.status).toBe('running');
          expect(res.body.observed.readyReplicas).toBe(2);
          expect(res.body.observed.replicaDetails.map((r: { id: string }) => r.id)).toContain(
            original,
          );
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      await strayExit;
      expect(stray.exitCode ?? stray.signalCode).not.toBeNull();
      const events = await api.http.get(`${url}/events?limit=100`).set(admin()).expect(200);
      expect(
        events.body.data.filter((e: { type: string }) => e.type === 'replica.started'),
      ).toHaveLength(2);
      await api.http.delete(url).set(admin()).expect(202);
      await expectEventually(
        async () => expect((await api.http.get(url).set(admin())).body.status).toBe('deleted'),
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
    } finally {
      await second?.close();
      await retireEndpoints(api);
      await api.close();
    }
  });
});
