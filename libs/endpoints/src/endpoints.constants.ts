/** Queue and job names of the endpoints library (STYLE.md: in one place). */
export const ENDPOINTS_QUEUE = 'endpoints';
export const RECONCILE_JOB = 'endpoints.reconcile';
export const SWEEP_JOB = 'endpoints.sweep';

export interface EndpointJobs {
  /** Converge one endpoint (queued on every change, and by the sweep). */
  [RECONCILE_JOB]: { tenantId: string; endpointId: string; reason: string };
  /** Queue a reconcile for every endpoint that is not deleted. */
  [SWEEP_JOB]: { scheduledBy: string };
}

/** The actor of what the reconciler does, in audit events and endpoint events. */
export const RECONCILER_ACTOR = { type: 'system', id: 'endpoint-reconciler' } as const;
