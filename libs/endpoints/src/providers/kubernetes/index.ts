/** The `kubernetes` endpoint provider: vLLM Deployments and Services by server-side apply. */
export { KubernetesProvider, KubernetesApiError } from './kubernetes.provider';
export {
  DEFAULT_GPU_PRODUCTS,
  resolveOptions as resolveKubernetesOptions,
  type KubernetesProviderOptions,
} from './kubernetes-options';
export {
  ANNOTATIONS as KUBERNETES_ANNOTATIONS,
  endpointNamespace,
  endpointResourceName,
  LABELS as KUBERNETES_LABELS,
  renderEndpointManifests,
} from './kubernetes-manifests';
