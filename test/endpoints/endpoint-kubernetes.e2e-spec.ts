import {
  bearer,
  deployableTenant,
  expectEventually,
  FakeKubernetesApi,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';

jest.setTimeout(120_000);
const admin = () => bearer(platformAdminKey());

/**
 * The reconciler driving the `kubernetes` provider (through the real `@kubernetes/client-node`
 * client, configured from a kubeconfig file as in a deployment) against a fake API server: a
 * provider error it may retry backs off (1 s doubling), one it may not fails the endpoint with
 * the reason. There is no cluster here (see docs/kubernetes-provider.md).
 */
describe('endpoint reconciler with the kubernetes provider (fake API server)', () => {
  let api: TestApp;
  let worker: TestApp;
  const kube = new FakeKubernetesApi();
  let dir: string;
  const previousKubeconfig = process.env.KUBECONFIG;

  beforeAll(async () => {
    const server = await kube.start();
    dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
    const kubeconfig = join(dir, 'config');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // Plain HTTP (a local fake) is allowed only without TLS verification.
        clusters: [{ name: 'fake', cluster: { server, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'control-plane', user: { token: 'fake-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'control-plane' } }],
        'current-context': 'fake',
      }),
    );
    // Read by the client library when the worker's provider is made (loadFromDefault).
    process.env.KUBECONFIG = kubeconfig;
    api = await startApi({ env: { ENDPOINT_PROVIDER: 'kubernetes' } });
    worker = await startWorker({
      env: {
        ENDPOINT_PROVIDER: 'kubernetes',
        // The seeded catalog's GPU type, as GPU feature discovery would label its nodes.
        KUBERNETES_GPU_PRODUCTS: JSON.stringify({ h100: 'NVIDIA-H100-80GB-HBM3' }),
        // Only the endpoint's own reconcile jobs run during the test (no sweep).
        ENDPOINT_RECONCILE_INTERVAL_MS: '600000',
      },
    });
  });
  afterAll(async () => {
    await worker?.close();
    await retireEndpoints(api);
    await api?.close();
    await kube.stop();
    if (previousKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previousKubeconfig;
    await rm(dir, { recursive: true, force: true });
  });

  it('backs off while the API server fails, then fails the endpoint on a refusal it cannot retry', async () => {
    const tenantId = await deployableTenant(api);
    // The first three calls fail as an overloaded API server would (retryable).
    kube.failures.push(503, 503, 503);
    const created = await api.http
      .post(`/v1/tenants/${tenantId}/endpoints`)
      .set(admin())
      .send({
        name: 'on-cluster',
        model: 'llama-3-8b-local',
        region: 'eu-west-1',
        minReplicas: 1,
        maxReplicas: 1,
      })
      .expect(201);
    const url = `/v1/tenants/${tenantId}/endpoints/${created.body.id}`;

    // Three failed attempts, then one that applies the Deployment and the Service.
    await expectEventually(() => expect(kube.objects.size).toBeGreaterThanOrEqual(2), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const attempts = kube.requests.slice(0, 4).map((request) => request.at);
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]);
    // 1 s, 2 s, 4 s (BullMQ's delays are not early; a busy machine makes them later).
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThanOrEqual(1900);
    expect(gaps[2]).toBeGreaterThanOrEqual(3900);
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    const during = await api.http.get(url).set(admin()).expect(200);
    expect(during.body.status).toBe('provisioning');
    const events = await api.http.get(`${url}/events?limit=100`).set(admin()).expect(200);
    const errors = events.body.data.filter((e: { type: string }) => e.type === 'reconcile.error');
    expect(errors).toHaveLength(3);
    expect(errors[0].message).toContain('HTTP 503');

    // The API server now refuses the service account (RBAC): retrying cannot help.
    kube.failures.push(403);
    await expectEventually(
      async () => {
        const res = await api.http.get(url).set(admin()).expect(200);
        expect(res.body.status).toBe('failed');
        expect(res.body.statusReason).toContain('HTTP 403');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });
});
