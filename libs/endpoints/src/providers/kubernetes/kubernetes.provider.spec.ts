/**
 * KubernetesProvider against a fake Kubernetes API server.
 *
 * There is no cluster here, and the API server is an external system, so these tests run a test
 * double of it: a local `http` server that implements just the calls the provider makes (server-
 * side apply PATCH of apps/v1 Deployments, v1 Services and Namespaces; GET of a Deployment with a
 * status the test sets; GET of a Service; a pod list filtered by `labelSelector`; DELETE). It
 * checks what goes over the wire through the real `@kubernetes/client-node` client; it cannot
 * check what a real API server, scheduler or kubelet would do with the objects.
 */
import { FakeKubernetesApi, Json, kubeConfigFor, Pod } from '@app/testing';
import { DeploymentSpec, ProviderError } from '../endpoint-provider';
import { renderEndpointManifests } from './kubernetes-manifests';
import { KubernetesProviderOptions } from './kubernetes-options';
import { KubernetesProvider } from './kubernetes.provider';

const spec: DeploymentSpec = {
  tenantId: '5d0c8f3e-2b7a-4c1e-9f6d-0a1b2c3d4e5f',
  endpointId: '8f14e45f-ceea-467f-a9f0-3b1c2d4e5f60',
  name: 'support-assistant',
  region: 'eu-west-1',
  replicas: 2,
  generation: 2,
  model: {
    id: 'llama-3-8b-instruct',
    family: 'llama-3',
    modality: 'chat',
    contextLength: 8192,
    gpuType: 'nvidia-l4',
    gpusPerReplica: 1,
    artifactUri: null,
  },
};
const NAME = 'ep-8f14e45fceea467fa9f03b1c2d4e5f60';
const NAMESPACE = 'ai-endpoints';
const DEPLOYMENT_PATH = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${NAME}`;
const SERVICE_PATH = `/api/v1/namespaces/${NAMESPACE}/services/${NAME}`;

function pod(name: string, generation: number, status: Json, extra: Json = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NAMESPACE,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: {
        'app.kubernetes.io/name': 'vllm',
        'app.kubernetes.io/instance': NAME,
        'controlplane.ai/generation': String(generation),
      },
      ...extra,
    },
    spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.6.3' }], nodeName: 'gpu-1' },
    status,
  };
}

function waitingPod(name: string, reason: string, lastState: Json = {}): Pod {
  return pod(name, 2, {
    phase: 'Running',
    startTime: '2026-01-01T00:02:00Z',
    conditions: [{ type: 'Ready', status: 'False' }],
    containerStatuses: [
      {
        name: 'vllm',
        ready: false,
        restartCount: 3,
        image: 'vllm/vllm-openai:v0.6.3',
        imageID: '',
        state: { waiting: { reason, message: `${reason} message` } },
        lastState,
      },
    ],
  });
}

describe('KubernetesProvider against a fake API server', () => {
  let api: FakeKubernetesApi;
  let server: string;
  const provider = (options: KubernetesProviderOptions = {}) =>
    new KubernetesProvider(options, kubeConfigFor(server));

  beforeEach(async () => {
    api = new FakeKubernetesApi();
    server = await api.start();
  });
  afterEach(() => api.stop());

  it('applies the Deployment and the Service with server-side apply', async () => {
    await provider().apply(spec, null);

    const patches = api.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => r.path)).toEqual([DEPLOYMENT_PATH, SERVICE_PATH]);
    for (const request of patches) {
      expect(request.contentType).toBe('application/apply-patch+yaml');
      expect(request.query.get('fieldManager')).toBe('ai-control-plane');
      expect(request.query.get('force')).toBe('true');
      expect(request.query.get('fieldValidation')).toBe('Strict');
    }
    const [deployment, service] = renderEndpointManifests(spec, {});
    expect(patches[0].body).toEqual(JSON.parse(JSON.stringify(deployment)));
    expect(patches[1].body).toEqual(JSON.parse(JSON.stringify(service)));
  });

  it('is idempotent: applying the same spec twice sends the same bodies and changes nothing', async () => {
    const first = await provider().apply(spec, null);
    const stored = JSON.stringify([...api.objects]);
    const second = await provider().apply(spec, first);

    expect(JSON.stringify([...api.objects])).toBe(stored);
    expect(api.objects.size).toBe(2);
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(4);
    expect(patches[2].body).toEqual(patches[0].body);
    expect(patches[3].body).toEqual(patches[1].body);
    expect(second).toEqual(first);
  });

  it('creates the region namespace first when asked to', async () => {
    await provider({ namespaceTemplate: 'cp-{region}', createNamespaces: true }).apply(spec, null);

    const patches = api.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => r.path)).toEqual([
      '/api/v1/namespaces/cp-eu-west-1',
      `/apis/apps/v1/namespaces/cp-eu-west-1/deployments/${NAME}`,
      `/api/v1/namespaces/cp-eu-west-1/services/${NAME}`,
    ]);
    expect(patches[0].contentType).toBe('application/apply-patch+yaml');
  });

  it('observes nothing when the Deployment does not exist', async () => {
    await expect(provider().observe(spec, null)).resolves.toEqual({ replicas: [], url: null });
  });

  it('maps pods to replicas with readiness, generation and why they are not ready', async () => {
    await provider().apply(spec, null);
    api.deploymentStatus = { observedGeneration: 1, replicas: 2, readyReplicas: 1 };
    api.pods = [
      pod('ready-pod', 2, {
        phase: 'Running',
        startTime: '2026-01-01T00:01:00Z',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
      }),
      waitingPod('crashing-pod', 'CrashLoopBackOff', {
        terminated: { reason: 'OOMKilled', exitCode: 137 },
      }),
      waitingPod('pulling-pod', 'ImagePullBackOff'),
      pod('pending-pod', 2, {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
          },
        ],
      }),
      pod(
        'old-pod',
        1,
        {
          phase: 'Running',
          startTime: '2025-12-31T00:00:00Z',
          conditions: [{ type: 'Ready', status: 'True' }],
        },
        { deletionTimestamp: '2026-01-01T00:03:00Z' },
      ),
      pod('evicted-pod', 1, { phase: 'Failed', reason: 'Evicted' }),
      {
        ...pod('other-endpoint-pod', 2, { phase: 'Running' }),
        metadata: {
          name: 'other-endpoint-pod',
          labels: { 'app.kubernetes.io/name': 'vllm', 'app.kubernetes.io/instance': 'ep-other' },
        },
      },
    ];

    const observed = await provider().observe(spec, null);

    const list = api.requests.find((r) => r.path === `/api/v1/namespaces/${NAMESPACE}/pods`);
    expect(list?.query.get('labelSelector')).toBe(
      `app.kubernetes.io/name=vllm,app.kubernetes.io/instance=${NAME}`,
    );
    expect(observed.url).toBe(`http://${NAME}.${NAMESPACE}.svc.cluster.local:80`);
    const byId = Object.fromEntries(observed.replicas.map((r) => [r.id, r]));
    expect(Object.keys(byId).sort()).toEqual([
      'crashing-pod',
      'old-pod',
      'pending-pod',
      'pulling-pod',
      'ready-pod',
    ]);
    expect(byId['ready-pod']).toEqual({
      id: 'ready-pod',
      generation: 2,
      ready: true,
      url: null,
      startedAt: '2026-01-01T00:01:00.000Z',
      handle: { namespace: NAMESPACE, pod: 'ready-pod', node: 'gpu-1' },
    });
    expect(byId['crashing-pod']).toMatchObject({ ready: false });
    expect(byId['crashing-pod'].detail).toMatch(
      /^vllm: CrashLoopBackOff \(last exit: OOMKilled, code 137\)/,
    );
    expect(byId['pulling-pod'].detail).toMatch(/^vllm: ImagePullBackOff/);
    expect(byId['pending-pod']).toMatchObject({ ready: false, generation: 2 });
    expect(byId['pending-pod'].detail).toMatch(/^Unschedulable: 0\/3 nodes/);
    expect(byId['old-pod']).toMatchObject({ generation: 1, ready: false, detail: 'Terminating' });
  });

  it('explains a replica with no reason of its own by a rollout past its progress deadline', async () => {
    await provider().apply(spec, null);
    api.deploymentStatus = {
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${NAME}-5d9c" has timed out progressing.`,
        },
      ],
    };
    api.pods = [
      pod('loading-pod', 2, { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] }),
    ];
    const [replica] = (await provider().observe(spec, null)).replicas;
    expect(replica.detail).toMatch(/^ProgressDeadlineExceeded: ReplicaSet/);
  });

  it('removes the Deployment in the foreground and the Service, and tolerates them being gone', async () => {
    await provider().apply(spec, null);
    await provider().remove(spec, null);

    const deletes = api.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path)).toEqual([DEPLOYMENT_PATH, SERVICE_PATH]);
    expect(deletes[0].query.get('propagationPolicy')).toBe('Foreground');
    expect(api.objects.size).toBe(0);

    await expect(provider().remove(spec, null)).resolves.toBeUndefined();
    await expect(provider().observe(spec, null)).resolves.toEqual({ replicas: [], url: null });
  });

  it.each([
    [500, true],
    [503, true],
    [429, true],
    [409, true],
    [422, false],
    [403, false],
  ])(
    'turns an HTTP %i from the API server into a ProviderError, retryable %s',
    async (code, retryable) => {
      api.failures.push(code);
      const error = await provider()
        .apply(spec, null)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ retryable });
      expect((error as Error).message).toContain(`HTTP ${code}`);
      expect((error as Error).message).toContain(`Deployment ${NAMESPACE}/${NAME}`);
    },
  );

  it('turns an unreachable API server into a retryable ProviderError', async () => {
    await api.stop();
    const error = await provider()
      .observe(spec, null)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true });
    api = new FakeKubernetesApi();
    server = await api.start();
  });

  it('gives up on an API server that does not answer, as a retryable ProviderError', async () => {
    api.hang = true;
    const error = await provider({ requestTimeoutMs: 200 })
      .observe(spec, null)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true });
  });
});
