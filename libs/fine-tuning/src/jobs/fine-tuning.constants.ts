/** Queue and job names of fine-tuning (STYLE.md: in one place). */
/** Validation and the sweep: short jobs, never stuck behind training. */
export const FINE_TUNING_QUEUE = 'fine-tuning';
/** Training: one entry per admitted job, as many at once as a worker trains. */
export const TRAINING_QUEUE = 'fine-tuning-training';
export const VALIDATE_JOB = 'fine-tuning.validate';
export const TRAIN_JOB = 'fine-tuning.train';
export const SWEEP_JOB = 'fine-tuning.sweep';

export interface FineTuningJobs {
  /** Check a new job's files and queue it for admission. */
  [VALIDATE_JOB]: { tenantId: string; jobId: string };
  /** Train an admitted job (resuming from its last checkpoint). */
  [TRAIN_JOB]: { tenantId: string; jobId: string };
  /** Admit waiting jobs and repair lost queue entries. */
  [SWEEP_JOB]: { scheduledBy: string };
}

/** BullMQ job ids: one validate and one train entry per fine-tuning job at a time. */
export const validateJobId = (jobId: string) => `validate-${jobId}`;
export const trainJobId = (jobId: string) => `train-${jobId}`;
