/**
 * The fine-tuning job state machine (OpenAI fine-tuning job statuses), in one table used by the
 * service, the admission scheduler, the runner and the tests.
 *
 * `validate`, `admit`, `succeed`, `fail` come from the system; `cancel` from people. A cancel of a
 * running job is a request the executor honours at its next step (the job stays `running` until
 * then); a cancel of a finished job answers 409 `illegal_job_transition`.
 */
export const JOB_STATUSES = [
  'validating_files',
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JOB_EVENTS = ['validate', 'admit', 'succeed', 'fail', 'cancel'] as const;
export type JobEvent = (typeof JOB_EVENTS)[number];

/** `from → event → to`; a status missing an event cannot take it. */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, Partial<Record<JobEvent, JobStatus>>>> = {
  validating_files: { validate: 'queued', fail: 'failed', cancel: 'cancelled' },
  queued: { admit: 'running', fail: 'failed', cancel: 'cancelled' },
  running: { succeed: 'succeeded', fail: 'failed', cancel: 'cancelled' },
  succeeded: {},
  failed: {},
  cancelled: {},
};

/** The status after `event`, or undefined when `from` does not allow it. */
export function jobTransition(from: JobStatus, event: JobEvent): JobStatus | undefined {
  return JOB_TRANSITIONS[from][event];
}

/** A status no event leaves. */
export function isFinished(status: JobStatus): boolean {
  return JOB_EVENTS.every((event) => !JOB_TRANSITIONS[status][event]);
}
