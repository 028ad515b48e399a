/** Queue and job names of the worker heartbeat, in one place (STYLE.md: queue names as constants). */
export const HEARTBEAT_QUEUE = 'heartbeat';
export const HEARTBEAT_JOB = 'beat';

export interface HeartbeatJobs {
  [HEARTBEAT_JOB]: { scheduledBy: string };
}
