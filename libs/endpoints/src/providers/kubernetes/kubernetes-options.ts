/**
 * Settings of the `kubernetes` endpoint provider. Every field is optional; {@link resolveOptions}
 * fills the defaults documented on each one (docs/kubernetes-provider.md lists them with the
 * environment settings they are meant to come from).
 */
export interface KubernetesProviderOptions {
  /**
   * Namespace of an endpoint's objects; `{region}` is replaced by the endpoint's region, so
   * `cp-{region}` gives one namespace per region. Default `ai-endpoints` (one fixed namespace).
   */
  namespaceTemplate?: string;
  /**
   * Create the namespace (server-side apply) before the endpoint's objects. Needs cluster-wide
   * `patch` on namespaces; default false, in which case the namespace must already exist.
   */
  createNamespaces?: boolean;
  /** vLLM OpenAI-compatible server image. Default `vllm/vllm-openai:v0.6.3`. */
  image?: string;
  /**
   * Catalog `gpuType` → value of the node label `nvidia.com/gpu.product` (set by NVIDIA GPU
   * feature discovery). Merged over {@link DEFAULT_GPU_PRODUCTS}; a gpuType found in neither is
   * refused rather than rendered as a pod that can never be scheduled.
   */
  gpuProducts?: Record<string, string>;
  /**
   * Base-model catalog id → weights location passed to vLLM's `--model`: a path under
   * {@link modelsMountPath}, an `s3://` URI, or a Hugging Face repository id. Without an entry a
   * base model's weights are at `<modelsMountPath>/<catalogId>`.
   */
  modelSources?: Record<string, string>;
  /**
   * PersistentVolumeClaim holding base-model weights, mounted read-only at
   * {@link modelsMountPath} when the weights location is under that path. Default `model-weights`.
   */
  modelsVolumeClaim?: string;
  /** Where {@link modelsVolumeClaim} is mounted. Default `/models`. */
  modelsMountPath?: string;
  /**
   * Image of the init container that copies `s3://` weights (every fine-tuned artifact) into the
   * pod; it runs `aws s3 sync`. Default `amazon/aws-cli:2.17.0`.
   */
  weightsFetcherImage?: string;
  /** `AWS_ENDPOINT_URL` for the fetcher, for S3-compatible stores (MinIO, Ceph). */
  s3EndpointUrl?: string;
  /**
   * Service account of the model pods: the identity the fetcher reads the object store with
   * (IRSA, GKE workload identity). Default: the namespace's default account.
   */
  serviceAccountName?: string;
  /** CPU cores requested per GPU (container requests; no CPU limit). Default 4. */
  cpuPerGpu?: number;
  /** Memory per GPU in GiB (requests = limits). Default 32. */
  memoryGiPerGpu?: number;
  /** Cluster DNS domain used in the Service URL. Default `cluster.local`. */
  clusterDomain?: string;
  /** Server-side apply field manager. Default `ai-control-plane`. */
  fieldManager?: string;
  /** Per-request timeout against the API server, milliseconds. Default 10000. */
  requestTimeoutMs?: number;
}

/**
 * `nvidia.com/gpu.product` values as GPU feature discovery reports them for common data-centre
 * GPUs (https://github.com/NVIDIA/k8s-device-plugin, `gpu-feature-discovery` labels).
 */
export const DEFAULT_GPU_PRODUCTS: Readonly<Record<string, string>> = {
  'nvidia-t4': 'Tesla-T4',
  'nvidia-l4': 'NVIDIA-L4',
  'nvidia-a10g': 'NVIDIA-A10G',
  'nvidia-l40s': 'NVIDIA-L40S',
  'nvidia-a100-40gb': 'NVIDIA-A100-SXM4-40GB',
  'nvidia-a100-80gb': 'NVIDIA-A100-SXM4-80GB',
  'nvidia-h100-80gb': 'NVIDIA-H100-80GB-HBM3',
};

export type ResolvedKubernetesOptions = Required<
  Omit<KubernetesProviderOptions, 's3EndpointUrl' | 'serviceAccountName'>
> &
  Pick<KubernetesProviderOptions, 's3EndpointUrl' | 'serviceAccountName'>;

/** Fills every default; the result is what rendering and the provider read. */
export function resolveOptions(options: KubernetesProviderOptions = {}): ResolvedKubernetesOptions {
  return {
    namespaceTemplate: options.namespaceTemplate ?? 'ai-endpoints',
    createNamespaces: options.createNamespaces ?? false,
    image: options.image ?? 'vllm/vllm-openai:v0.6.3',
    gpuProducts: { ...DEFAULT_GPU_PRODUCTS, ...options.gpuProducts },
    modelSources: { ...options.modelSources },
    modelsVolumeClaim: options.modelsVolumeClaim ?? 'model-weights',
    modelsMountPath: (options.modelsMountPath ?? '/models').replace(/\/+$/, ''),
    weightsFetcherImage: options.weightsFetcherImage ?? 'amazon/aws-cli:2.17.0',
    s3EndpointUrl: options.s3EndpointUrl,
    serviceAccountName: options.serviceAccountName,
    cpuPerGpu: options.cpuPerGpu ?? 4,
    memoryGiPerGpu: options.memoryGiPerGpu ?? 32,
    clusterDomain: options.clusterDomain ?? 'cluster.local',
    fieldManager: options.fieldManager ?? 'ai-control-plane',
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
  };
}
