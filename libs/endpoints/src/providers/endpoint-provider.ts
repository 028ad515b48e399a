/**
 * The seam between the reconciler and where replicas actually run (issue 8, "Providers behind
 * one interface"). The reconciler owns desired state and the lifecycle; a provider only makes
 * the infrastructure match one endpoint's {@link DeploymentSpec} and reports what it sees.
 *
 * Every method is idempotent and may be called again after a crash at any point: a provider
 * never assumes its previous call completed. `previous` is what the last call returned (persisted
 * by the reconciler in the endpoint row), so a provider whose state is not in an external system
 * (the `local` provider's processes) can find and adopt what an earlier worker started.
 */
export interface EndpointProvider {
  /** `local` or `kubernetes` (the `ENDPOINT_PROVIDER` setting). */
  readonly name: string;

  /**
   * Makes the deployment match `spec`: creates it, scales it to `spec.replicas`, rolls replicas
   * of an older `generation` over to the new one (a new replica is ready before an old one
   * goes), restarts replicas that died. Returns soon after starting work (it does not wait for
   * every replica to be ready); the reconciler calls it again until {@link ObservedDeployment}
   * shows convergence.
   *
   * @throws ProviderError when the infrastructure refuses or cannot be reached (`retryable`
   * tells the reconciler whether to back off and retry or to fail the endpoint)
   */
  apply(spec: DeploymentSpec, previous: ObservedDeployment | null): Promise<ObservedDeployment>;

  /** What runs now for the endpoint, without changing anything. */
  observe(spec: DeploymentSpec, previous: ObservedDeployment | null): Promise<ObservedDeployment>;

  /** Removes every replica and resource of the endpoint; removing what is gone is a no-op. */
  remove(spec: DeploymentSpec, previous: ObservedDeployment | null): Promise<void>;
}

/** What one endpoint should look like, derived from its desired spec and catalog entry. */
export interface DeploymentSpec {
  tenantId: string;
  endpointId: string;
  /** The endpoint's name (DNS-label safe: lowercase letters, digits and hyphens, ≤ 63). */
  name: string;
  region: string;
  /** Replicas to run now, ≥ 0 (0 when stopped or while the tenant is suspended). */
  replicas: number;
  /** Increments whenever the model changes; replicas of an older generation are rolled. */
  generation: number;
  model: DeployedModel;
}

/** The catalog facts a provider needs to run a model. */
export interface DeployedModel {
  /** Catalog id, e.g. `llama-3-8b-local`, or a fine-tuned model's `ft:…` name. */
  id: string;
  family: string;
  modality: 'chat' | 'completion' | 'embedding';
  contextLength: number;
  gpuType: string;
  gpusPerReplica: number;
  /**
   * Where a fine-tuned model's weights are (a file path for `local`, an object-store URI for
   * `kubernetes`); null for base models.
   */
  artifactUri: string | null;
  /** The base model a fine-tuned model was trained from (its architecture); absent for base models. */
  baseModelId?: string | null;
}

export interface ObservedDeployment {
  replicas: ObservedReplica[];
  /** A stable address in front of every ready replica, when the provider has one (a Service). */
  url: string | null;
  /**
   * From {@link EndpointProvider.apply}, when the provider can tell: ids of the replicas that
   * call removed on purpose (surplus, rolled over); one gone but not listed died. Absent, the
   * reconciler takes a gone replica as removed when the run's first observation still had it.
   * Not persisted.
   */
  removed?: string[];
}

export interface ObservedReplica {
  /** Stable for the replica's life (a process, a pod). */
  id: string;
  generation: number;
  /** Answering its health check and serving. */
  ready: boolean;
  /** Where the gateway sends requests for this replica (`http://127.0.0.1:port`); null if none. */
  url: string | null;
  startedAt: string;
  /** Provider-specific facts needed to find the replica again (a pid and port for `local`). */
  handle?: Record<string, unknown>;
  /** Why it is not ready, when known (`exited with code 1`, `CrashLoopBackOff`). */
  detail?: string;
  /** Requests it was serving when observed, when the provider can tell (the autoscaler's load). */
  inFlight?: number;
}

/** An infrastructure failure the reconciler can act on. */
export class ProviderError extends Error {
  constructor(
    message: string,
    /** True when trying again later may succeed (the API server is away, a port was taken). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** Nest injection token for the configured provider. */
export const ENDPOINT_PROVIDER = Symbol('ENDPOINT_PROVIDER');
