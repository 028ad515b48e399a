import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1Namespace,
  V1Probe,
  V1SecurityContext,
  V1Service,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { DeploymentSpec, ProviderError } from '../endpoint-provider';
import {
  KubernetesProviderOptions,
  ResolvedKubernetesOptions,
  resolveOptions,
} from './kubernetes-options';

/*
 * Why a plain Deployment + Service running vLLM and not a KServe InferenceService: KServe needs
 * its CRDs and controller (and Knative or its raw-deployment mode) installed in every cluster we
 * deploy to, and its own reconciler would sit between ours and the pods, hiding the per-pod
 * readiness and waiting reasons the reconciler reports. The control plane already does what
 * KServe would add (lifecycle, rollout by generation, routing in the gateway), so the two
 * built-in kinds give the same result on any conformant cluster with one less moving part.
 */

/** Port vLLM listens on inside the pod. */
export const VLLM_PORT = 8000;
/** Port of the ClusterIP Service in front of the pods. */
export const SERVICE_PORT = 80;

export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  managedBy: 'app.kubernetes.io/managed-by',
  tenantId: 'controlplane.ai/tenant-id',
  endpointId: 'controlplane.ai/endpoint-id',
  endpointName: 'controlplane.ai/endpoint-name',
  generation: 'controlplane.ai/generation',
} as const;

export const ANNOTATIONS = {
  modelId: 'controlplane.ai/model-id',
  generation: 'controlplane.ai/generation',
} as const;

const MANAGED_BY = 'ai-control-plane';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Where `s3://` weights are copied to by the init container. */
const FETCHED_WEIGHTS_PATH = '/weights';
/** Writable home for vLLM, Hugging Face and Triton caches (the image's own home is root's). */
const CACHE_PATH = '/cache';
/** The non-root user the pods run as (vLLM's image defaults to root). */
const POD_USER = 1000;

/**
 * Name of every object of an endpoint: `ep-` + the endpoint id's 32 hex digits (35 characters).
 *
 * The whole id, not a prefix: objects are applied with `force: true`, so two endpoints sharing a
 * name would silently take each other's Deployment over, possibly across tenants; a prefix of a
 * time-ordered id (UUIDv7) would collide for endpoints created in the same millisecond. 35
 * characters leave room for the ReplicaSet and pod suffixes under the 63-character label limit.
 * The user's endpoint name is only a label: it may change and need not be unique.
 *
 * @throws ProviderError (not retryable) when `endpointId` is not a UUID
 */
export function endpointResourceName(endpointId: string): string {
  if (!UUID.test(endpointId))
    throw new ProviderError(`kubernetes: endpoint id ${endpointId} is not a UUID`, false);
  return `ep-${endpointId.replace(/-/g, '').toLowerCase()}`;
}

/**
 * The namespace of an endpoint in `region`: `namespaceTemplate` with `{region}` replaced by the
 * region lowercased, every character outside `[a-z0-9-]` turned into `-`.
 *
 * @throws ProviderError (not retryable) when the result is not a DNS-1123 label
 */
export function endpointNamespace(region: string, options: KubernetesProviderOptions = {}): string {
  const { namespaceTemplate } = resolveOptions(options);
  const safeRegion = region
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const namespace = namespaceTemplate.replace(/\{region\}/g, safeRegion);
  if (namespace.length > 63 || !DNS_LABEL.test(namespace))
    throw new ProviderError(
      `kubernetes: namespace "${namespace}" (from "${namespaceTemplate}") is not a DNS-1123 label`,
      false,
    );
  return namespace;
}

/** The label selector of an endpoint's pods (the Deployment's and the Service's selector). */
export function endpointSelector(spec: Pick<DeploymentSpec, 'endpointId'>): Record<string, string> {
  return { [LABELS.name]: 'vllm', [LABELS.instance]: endpointResourceName(spec.endpointId) };
}

/** A Namespace for {@link KubernetesProviderOptions.createNamespaces}. */
export function renderNamespace(name: string): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { [LABELS.managedBy]: MANAGED_BY } },
  };
}

/**
 * The objects that run one endpoint: a vLLM Deployment and a ClusterIP Service in front of it.
 * Pure and deterministic (same input, same objects, key order included), so the output is both
 * the server-side-apply body and what the golden files pin.
 *
 * Weights: a fine-tuned model's `artifactUri`, else `modelSources[model.id]`, else
 * `<modelsMountPath>/<model.id>`. A location under `modelsMountPath` mounts the weights PVC
 * read-only; an `s3://` location is copied by an init container into an emptyDir, because vLLM
 * v0.6 loads only local paths and Hugging Face repositories; anything else is passed to vLLM as is.
 *
 * @returns `[Deployment, Service]`, both named {@link endpointResourceName} in
 * {@link endpointNamespace}
 * @throws ProviderError (not retryable) for a non-UUID endpoint id, a namespace that is not a DNS
 * label, fewer than one GPU per replica, or a gpuType with no `nvidia.com/gpu.product` mapping
 */
export function renderEndpointManifests(
  spec: DeploymentSpec,
  options: KubernetesProviderOptions = {},
): [V1Deployment, V1Service] {
  const resolved = resolveOptions(options);
  const name = endpointResourceName(spec.endpointId);
  const namespace = endpointNamespace(spec.region, resolved);
  const labels = {
    ...endpointSelector(spec),
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.tenantId]: spec.tenantId,
    [LABELS.endpointId]: spec.endpointId,
    [LABELS.endpointName]: spec.name,
    [LABELS.generation]: String(spec.generation),
  };
  // Model ids of fine-tuned models (`ft:…`) are not valid label values: an annotation holds them.
  const annotations = {
    [ANNOTATIONS.modelId]: spec.model.id,
    [ANNOTATIONS.generation]: String(spec.generation),
  };
  // Fresh copies for each object: shared references would alias in YAML and let a caller's
  // change to one object leak into the other.
  const metadata = () => ({
    name,
    namespace,
    labels: { ...labels },
    annotations: { ...annotations },
  });

  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(),
    spec: {
      replicas: spec.replicas,
      // Selectors are immutable: only the two labels that never change for an endpoint.
      selector: { matchLabels: endpointSelector(spec) },
      // A new replica is ready before an old one goes (the EndpointProvider contract); this
      // needs room for one extra replica's GPUs during a rollout.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      // Pulling a multi-GB image and loading weights takes minutes; the default 600 s would
      // mark healthy rollouts of large models as failed.
      progressDeadlineSeconds: 1800,
      revisionHistoryLimit: 3,
      template: {
        // The generation annotation changes the pod template, so a new generation rolls the
        // pods even when nothing else in the template changed.
        metadata: { labels: { ...labels }, annotations: { ...annotations } },
        spec: renderPodSpec(spec, resolved),
      },
    },
  };

  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(),
    spec: {
      type: 'ClusterIP',
      selector: endpointSelector(spec),
      ports: [{ name: 'http', protocol: 'TCP', port: SERVICE_PORT, targetPort: 'http' }],
    },
  };
  return [deployment, service];
}

function renderPodSpec(
  spec: DeploymentSpec,
  options: ResolvedKubernetesOptions,
): NonNullable<NonNullable<V1Deployment['spec']>['template']['spec']> {
  const { model } = spec;
  if (!Number.isInteger(model.gpusPerReplica) || model.gpusPerReplica < 1)
    throw new ProviderError(
      `kubernetes: model ${model.id} needs ${model.gpusPerReplica} GPUs per replica; vLLM's image needs at least 1`,
      false,
    );
  const gpuProduct = options.gpuProducts[model.gpuType];
  if (!gpuProduct)
    throw new ProviderError(
      `kubernetes: no nvidia.com/gpu.product is configured for gpuType ${model.gpuType}`,
      false,
    );

  const source =
    model.artifactUri ?? options.modelSources[model.id] ?? defaultSource(spec, options);
  const fetched = source.startsWith('s3://');
  const onVolume =
    source === options.modelsMountPath || source.startsWith(`${options.modelsMountPath}/`);
  const weights = fetched ? FETCHED_WEIGHTS_PATH : source;

  const volumes: V1Volume[] = [
    { name: 'cache', emptyDir: {} },
    // NCCL between tensor-parallel workers uses shared memory; the runtime's default 64 MiB
    // /dev/shm makes multi-GPU replicas crash at start.
    { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } },
  ];
  const mounts: V1VolumeMount[] = [
    { name: 'cache', mountPath: CACHE_PATH },
    { name: 'dshm', mountPath: '/dev/shm' },
  ];
  if (onVolume) {
    volumes.push({
      name: 'models',
      persistentVolumeClaim: { claimName: options.modelsVolumeClaim, readOnly: true },
    });
    mounts.push({ name: 'models', mountPath: options.modelsMountPath, readOnly: true });
  }
  if (fetched) {
    volumes.push({ name: 'weights', emptyDir: {} });
    mounts.push({ name: 'weights', mountPath: FETCHED_WEIGHTS_PATH, readOnly: true });
  }

  const gpus = String(model.gpusPerReplica);
  const memory = `${options.memoryGiPerGpu * model.gpusPerReplica}Gi`;
  const health = (periodSeconds: number, failureThreshold: number): V1Probe => ({
    httpGet: { path: '/health', port: 'http' },
    periodSeconds,
    timeoutSeconds: 5,
    failureThreshold,
  });

  const server: V1Container = {
    name: 'vllm',
    image: options.image,
    imagePullPolicy: 'IfNotPresent',
    args: [
      '--model',
      weights,
      '--served-model-name',
      model.id,
      '--max-model-len',
      String(model.contextLength),
      '--port',
      String(VLLM_PORT),
      // Without it vLLM uses one GPU of the replica's allocation.
      '--tensor-parallel-size',
      gpus,
      // vLLM logs every prompt at INFO otherwise: tenants' data has no place in pod logs.
      '--disable-log-requests',
    ],
    env: [
      { name: 'HOME', value: CACHE_PATH },
      { name: 'HF_HOME', value: `${CACHE_PATH}/huggingface` },
      { name: 'XDG_CACHE_HOME', value: CACHE_PATH },
    ],
    ports: [{ name: 'http', containerPort: VLLM_PORT, protocol: 'TCP' }],
    resources: {
      requests: {
        cpu: String(options.cpuPerGpu * model.gpusPerReplica),
        memory,
        'nvidia.com/gpu': gpus,
      },
      // No CPU limit: throttling the tokenizer and scheduler threads slows every request.
      limits: { memory, 'nvidia.com/gpu': gpus },
    },
    // The HTTP server starts only once the weights are loaded, which can take many minutes;
    // the startup probe allows 30 (180 × 10 s) before liveness starts counting.
    startupProbe: health(10, 180),
    readinessProbe: health(5, 3),
    livenessProbe: health(15, 4),
    securityContext: containerSecurityContext(),
    volumeMounts: mounts,
  };

  const initContainers: V1Container[] = [];
  if (fetched)
    initContainers.push({
      name: 'fetch-weights',
      image: options.weightsFetcherImage,
      imagePullPolicy: 'IfNotPresent',
      command: ['aws', 's3', 'sync', '--only-show-errors', source, FETCHED_WEIGHTS_PATH],
      env: fetcherEnv(options),
      resources: {
        requests: { cpu: '1', memory: '1Gi' },
        limits: { memory: '1Gi' },
      },
      securityContext: containerSecurityContext(),
      volumeMounts: [
        { name: 'cache', mountPath: CACHE_PATH },
        { name: 'weights', mountPath: FETCHED_WEIGHTS_PATH },
      ],
    });

  return {
    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
    // The model server never calls the Kubernetes API, and with many endpoints per namespace
    // the injected service environment variables would number in the hundreds.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: POD_USER,
      runAsGroup: POD_USER,
      fsGroup: POD_USER,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    nodeSelector: {
      'nvidia.com/gpu.product': gpuProduct,
      'topology.kubernetes.io/region': spec.region,
    },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    // Lets in-flight generations finish after the pod leaves the Service's endpoints.
    terminationGracePeriodSeconds: 60,
    ...(initContainers.length ? { initContainers } : {}),
    containers: [server],
    volumes,
  };
}

/** The documented convention: a base model's weights are in a folder named by its catalog id. */
function defaultSource(spec: DeploymentSpec, options: ResolvedKubernetesOptions): string {
  return `${options.modelsMountPath}/${spec.model.id}`;
}

function fetcherEnv(options: ResolvedKubernetesOptions): V1EnvVar[] {
  const env: V1EnvVar[] = [{ name: 'HOME', value: CACHE_PATH }];
  if (options.s3EndpointUrl) env.push({ name: 'AWS_ENDPOINT_URL', value: options.s3EndpointUrl });
  return env;
}

function containerSecurityContext(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  };
}
