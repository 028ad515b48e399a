import {
  ApiException,
  AppsV1Api,
  ConfigurationOptions,
  CoreV1Api,
  KubeConfig,
  Observable,
  ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
  V1Deployment,
  V1Pod,
  V1Service,
} from '@kubernetes/client-node';
import {
  DeploymentSpec,
  EndpointProvider,
  ObservedDeployment,
  ObservedReplica,
  ProviderError,
} from '../endpoint-provider';
import {
  endpointNamespace,
  endpointResourceName,
  endpointSelector,
  LABELS,
  renderEndpointManifests,
  renderNamespace,
  SERVICE_PORT,
} from './kubernetes-manifests';
import {
  KubernetesProviderOptions,
  ResolvedKubernetesOptions,
  resolveOptions,
} from './kubernetes-options';

/** Status codes after which the same request may succeed later. */
const RETRYABLE_STATUS = new Set([408, 409, 429]);
/** Error codes of a connection that failed or dropped (Node's system errors). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Runs each endpoint as a vLLM Deployment and a ClusterIP Service (see kubernetes-manifests.ts),
 * written with server-side apply so that every `apply` sends the whole desired state and the API
 * server, not this process, works out the difference: idempotent and safe after a crash.
 *
 * State lives in the cluster, so `previous` is not needed to find anything.
 */
export class KubernetesProvider implements EndpointProvider {
  readonly name = 'kubernetes';
  private readonly options: ResolvedKubernetesOptions;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;

  /**
   * @param options see {@link KubernetesProviderOptions}; defaults filled by `resolveOptions`
   * @param kubeConfig the cluster and credentials; by default `loadFromDefault()` (`KUBECONFIG`,
   * `~/.kube/config`, or the in-cluster service account)
   */
  constructor(options: KubernetesProviderOptions = {}, kubeConfig?: KubeConfig) {
    this.options = resolveOptions(options);
    const config = kubeConfig ?? defaultKubeConfig();
    this.apps = config.makeApiClient(AppsV1Api);
    this.core = config.makeApiClient(CoreV1Api);
  }

  /**
   * Server-side applies the namespace (with `createNamespaces`), the Deployment and the Service,
   * then returns {@link observe}. The Deployment controller performs the rollout.
   *
   * @throws ProviderError see {@link toProviderError}; not retryable for a spec that cannot be
   * rendered (see `renderEndpointManifests`)
   */
  async apply(
    spec: DeploymentSpec,
    previous: ObservedDeployment | null,
  ): Promise<ObservedDeployment> {
    const [deployment, service] = renderEndpointManifests(spec, this.options);
    const name = deployment.metadata!.name!;
    const namespace = deployment.metadata!.namespace!;
    const apply = { fieldManager: this.options.fieldManager, force: true } as const;
    if (this.options.createNamespaces)
      await this.call(
        `apply Namespace ${namespace}`,
        (options) =>
          this.core.patchNamespace(
            { name: namespace, body: renderNamespace(namespace), ...apply },
            options,
          ),
        true,
      );
    await this.call(
      `apply Deployment ${namespace}/${name}`,
      (options) =>
        this.apps.patchNamespacedDeployment(
          // Strict: a field the API server does not know is an error, not silently dropped.
          { name, namespace, body: deployment, ...apply, fieldValidation: 'Strict' },
          options,
        ),
      true,
    );
    await this.call(
      `apply Service ${namespace}/${name}`,
      (options) =>
        this.core.patchNamespacedService(
          { name, namespace, body: service, ...apply, fieldValidation: 'Strict' },
          options,
        ),
      true,
    );
    return this.observe(spec, previous);
  }

  /**
   * Reads the Deployment, its Service and its pods. One replica per pod that is not finished
   * (phase Succeeded or Failed, e.g. evicted); terminating pods are reported not ready until
   * they are gone. No Deployment → `{ replicas: [], url: null }`.
   *
   * @throws ProviderError see {@link toProviderError}
   */
  async observe(
    spec: DeploymentSpec,
    _previous: ObservedDeployment | null,
  ): Promise<ObservedDeployment> {
    const name = endpointResourceName(spec.endpointId);
    const namespace = endpointNamespace(spec.region, this.options);
    const deployment = await this.callOrNull<V1Deployment>(
      `read Deployment ${namespace}/${name}`,
      (options) => this.apps.readNamespacedDeployment({ name, namespace }, options),
    );
    if (!deployment) return { replicas: [], url: null };
    const labelSelector = Object.entries(endpointSelector(spec))
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const [service, pods] = await Promise.all([
      this.callOrNull<V1Service>(`read Service ${namespace}/${name}`, (options) =>
        this.core.readNamespacedService({ name, namespace }, options),
      ),
      this.call(`list pods of ${namespace}/${name}`, (options) =>
        this.core.listNamespacedPod({ namespace, labelSelector }, options),
      ),
    ]);
    const replicas = pods.items
      .filter((pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed')
      .map((pod) => toReplica(pod, namespace, stalled(deployment)))
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
    const url = service
      ? `http://${name}.${namespace}.svc.${this.options.clusterDomain}:${SERVICE_PORT}`
      : null;
    return { replicas, url };
  }

  /**
   * Deletes the Deployment and the Service; either already gone (404) is fine. The Deployment is
   * deleted in the foreground: it stays, marked for deletion, until its pods are gone, so
   * `observe` keeps showing them terminating instead of reporting a removal that is not done.
   *
   * @throws ProviderError see {@link toProviderError}
   */
  async remove(spec: DeploymentSpec, _previous: ObservedDeployment | null): Promise<void> {
    const name = endpointResourceName(spec.endpointId);
    const namespace = endpointNamespace(spec.region, this.options);
    await this.callOrNull(`delete Deployment ${namespace}/${name}`, (options) =>
      this.apps.deleteNamespacedDeployment(
        { name, namespace, propagationPolicy: 'Foreground' },
        options,
      ),
    );
    await this.callOrNull(`delete Service ${namespace}/${name}`, (options) =>
      this.core.deleteNamespacedService({ name, namespace }, options),
    );
  }

  /**
   * Runs one API call with the request timeout (and, for `serverSideApply`, the apply content
   * type) and maps its failure with {@link toProviderError}.
   */
  private async call<T>(
    action: string,
    request: (options: ConfigurationOptions) => Promise<T>,
    serverSideApply = false,
  ): Promise<T> {
    // The generated client sends PATCH bodies as JSON Patch unless told otherwise; JSON is valid
    // YAML, so `application/apply-patch+yaml` with a JSON body is a server-side apply
    // (https://kubernetes.io/docs/reference/using-api/server-side-apply/#api-implementation).
    const options = serverSideApply
      ? setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply, this.timeout())
      : this.timeout();
    try {
      return await request(options);
    } catch (error) {
      throw toProviderError(error, action);
    }
  }

  /** {@link call}, with a 404 answered as null ("not there"). */
  private async callOrNull<T>(
    action: string,
    request: (options: ConfigurationOptions) => Promise<T>,
  ): Promise<T | null> {
    try {
      return await this.call(action, request);
    } catch (error) {
      if (error instanceof KubernetesApiError && error.status === 404) return null;
      throw error;
    }
  }

  /**
   * A fresh deadline per request: the generated client sets none, and a hung API server would
   * hold the reconciler's job for good.
   */
  private timeout(): ConfigurationOptions<ObservableMiddleware> {
    const timeoutMs = this.options.requestTimeoutMs;
    const middleware: ObservableMiddleware = {
      pre: (context) => {
        context.setSignal(AbortSignal.timeout(timeoutMs));
        return new Observable(Promise.resolve(context));
      },
      post: (context) => new Observable(Promise.resolve(context)),
    };
    return { middleware: [middleware], middlewareMergeStrategy: 'append' };
  }
}

/** A {@link ProviderError} that carries the API server's HTTP status. */
export class KubernetesApiError extends ProviderError {
  constructor(
    message: string,
    retryable: boolean,
    readonly status: number,
  ) {
    super(message, retryable);
    this.name = 'KubernetesApiError';
  }
}

/**
 * Maps a failed API call to what the reconciler can act on:
 * - an HTTP answer: 5xx, 408, 429 and 409 (a conflicting write; the next apply resends the whole
 *   state) are retryable; other 4xx (422 invalid, 403 forbidden, 401, 404) are not, because
 *   sending the same request again gives the same answer until someone changes the spec or RBAC;
 * - no answer (connection refused or reset, DNS failure, our timeout): retryable;
 * - anything else is not a failure of the infrastructure and is rethrown as is.
 */
export function toProviderError(error: unknown, action: string): Error {
  if (error instanceof ProviderError) return error;
  if (error instanceof ApiException) {
    const status = error.code;
    const retryable = status >= 500 || RETRYABLE_STATUS.has(status);
    return new KubernetesApiError(
      `kubernetes: ${action} failed with HTTP ${status}: ${statusMessage(error.body)}`,
      retryable,
      status,
    );
  }
  if (error instanceof Error && isNetworkError(error))
    return new ProviderError(`kubernetes: ${action} failed: ${error.message}`, true);
  return error instanceof Error ? error : new Error(String(error));
}

function isNetworkError(error: Error & { code?: unknown; type?: unknown }): boolean {
  // node-fetch (used by the client) raises FetchError (`type: 'system'`, Node's `code`) for
  // connection failures and AbortError when our timeout signal fires.
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return true;
  if (error.name === 'FetchError') return true;
  return typeof error.code === 'string' && NETWORK_CODES.has(error.code);
}

/** The `message` of a Kubernetes `Status` body, or the body itself. */
function statusMessage(body: unknown): string {
  if (
    body &&
    typeof body === 'object' &&
    typeof (body as { message?: unknown }).message === 'string'
  )
    return (body as { message: string }).message;
  if (typeof body === 'string' && body.length > 0) return body.slice(0, 500);
  return 'no message';
}

/**
 * The Deployment's own verdict on a rollout that stopped progressing (`Progressing=False`,
 * reason `ProgressDeadlineExceeded` after `progressDeadlineSeconds`), to explain replicas that
 * have no more specific reason. The rest of the Deployment status (replica counts, observed
 * generation) has no place in {@link ObservedDeployment}: the pods say the same, per replica.
 */
function stalled(deployment: V1Deployment): string | undefined {
  const progressing = deployment.status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.status !== 'False') return undefined;
  return `${progressing.reason ?? 'NotProgressing'}${progressing.message ? `: ${progressing.message}` : ''}`;
}

function toReplica(pod: V1Pod, namespace: string, stalledRollout?: string): ObservedReplica {
  const generation = Number.parseInt(pod.metadata?.labels?.[LABELS.generation] ?? '', 10);
  const terminating = Boolean(pod.metadata?.deletionTimestamp);
  const ready =
    !terminating &&
    (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const started = pod.status?.startTime ?? pod.metadata?.creationTimestamp;
  const replica: ObservedReplica = {
    id: pod.metadata?.name ?? '',
    generation: Number.isFinite(generation) ? generation : 0,
    ready,
    // Traffic goes through the Service: pod IPs change and are not the gateway's business.
    url: null,
    startedAt: started ? new Date(started).toISOString() : new Date(0).toISOString(),
    handle: { namespace, pod: pod.metadata?.name, node: pod.spec?.nodeName ?? null },
  };
  const detail = terminating
    ? 'Terminating'
    : ready
      ? undefined
      : (notReadyDetail(pod) ?? stalledRollout);
  if (detail) replica.detail = detail;
  return replica;
}

/**
 * Why a pod is not ready, most specific first: a container waiting (CrashLoopBackOff with the
 * last exit, ImagePullBackOff, CreateContainerConfigError), an init container waiting or
 * failing, the scheduler's refusal (Unschedulable), else undefined (starting, loading weights).
 */
function notReadyDetail(pod: V1Pod): string | undefined {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    if (
      waiting?.reason &&
      waiting.reason !== 'ContainerCreating' &&
      waiting.reason !== 'PodInitializing'
    ) {
      const last = status.lastState?.terminated;
      const lastExit = last ? ` (last exit: ${last.reason ?? 'Error'}, code ${last.exitCode})` : '';
      return `${status.name}: ${waiting.reason}${lastExit}${waiting.message ? `: ${waiting.message}` : ''}`;
    }
  }
  const unscheduled = (pod.status?.conditions ?? []).find(
    (c) => c.type === 'PodScheduled' && c.status === 'False',
  );
  if (unscheduled)
    return `${unscheduled.reason ?? 'Unschedulable'}${unscheduled.message ? `: ${unscheduled.message}` : ''}`;
  return undefined;
}

function defaultKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromDefault();
  return config;
}
