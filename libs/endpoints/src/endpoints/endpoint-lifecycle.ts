/**
 * The dedicated endpoint state machine (issue 8, "Lifecycle"), in one table used by the service,
 * the reconciler and the tests.
 *
 * Requests (`create`, `update`, `stop`, `start`, `delete`) come from people through the API;
 * observations (`provision`, `converge`, `degrade`, `fail`, `stopped`, `deleted`) come from the
 * reconciler comparing what the provider reports with the desired spec. A request that is not
 * in the table for the current status answers 409 `illegal_endpoint_transition`.
 */
export const ENDPOINT_STATUSES = [
  'pending',
  'provisioning',
  'running',
  'updating',
  'degraded',
  'stopping',
  'stopped',
  'deleting',
  'deleted',
  'failed',
] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

export const ENDPOINT_REQUESTS = ['update', 'stop', 'start', 'delete'] as const;
export type EndpointRequest = (typeof ENDPOINT_REQUESTS)[number];

export const ENDPOINT_OBSERVATIONS = [
  'provision',
  'converge',
  'degrade',
  'fail',
  'stopped',
  'deleted',
] as const;
export type EndpointObservation = (typeof ENDPOINT_OBSERVATIONS)[number];

export type EndpointEvent = EndpointRequest | EndpointObservation;

/**
 * `from → event → to`. A status missing an event cannot take it. `update` of a stopped endpoint
 * changes its spec and leaves it stopped (it takes effect on start).
 */
export const ENDPOINT_TRANSITIONS: Readonly<
  Record<EndpointStatus, Partial<Record<EndpointEvent, EndpointStatus>>>
> = {
  pending: {
    provision: 'provisioning',
    update: 'pending',
    stop: 'stopping',
    delete: 'deleting',
    fail: 'failed',
  },
  provisioning: {
    converge: 'running',
    degrade: 'degraded',
    fail: 'failed',
    update: 'provisioning',
    stop: 'stopping',
    delete: 'deleting',
  },
  running: {
    update: 'updating',
    degrade: 'degraded',
    fail: 'failed',
    stop: 'stopping',
    delete: 'deleting',
  },
  updating: {
    converge: 'running',
    degrade: 'degraded',
    fail: 'failed',
    update: 'updating',
    stop: 'stopping',
    delete: 'deleting',
  },
  degraded: {
    converge: 'running',
    provision: 'provisioning',
    fail: 'failed',
    update: 'updating',
    stop: 'stopping',
    delete: 'deleting',
  },
  stopping: { stopped: 'stopped', delete: 'deleting' },
  stopped: { start: 'provisioning', update: 'stopped', delete: 'deleting' },
  deleting: { deleted: 'deleted' },
  deleted: {},
  failed: {
    start: 'provisioning',
    update: 'provisioning',
    stop: 'stopping',
    delete: 'deleting',
  },
};

/** The status after `event`, or undefined when `from` does not allow it. */
export function endpointTransition(
  from: EndpointStatus,
  event: EndpointEvent,
): EndpointStatus | undefined {
  return ENDPOINT_TRANSITIONS[from][event];
}

/** Requests the API accepts in `status` (for the problem detail of a refused one). */
export function allowedRequests(status: EndpointStatus): EndpointRequest[] {
  return ENDPOINT_REQUESTS.filter((request) => ENDPOINT_TRANSITIONS[status][request]);
}
