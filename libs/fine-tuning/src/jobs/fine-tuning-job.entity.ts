import { BIGINT_AS_NUMBER } from '@app/core';
import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { JobStatus } from './job-lifecycle';

/** `error` of a failed job (OpenAI: `{code, message, param}`). */
export interface JobError {
  code: string;
  message: string;
  param: string | null;
}

/** A fine-tuning job (OpenAI "The fine-tuning job object"); see the FineTuningJobs migration. */
@Entity('fine_tuning_jobs')
export class FineTuningJob {
  /** `ftjob-` and 24 hex digits. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  /** The base model's catalog id. */
  @Column({ type: 'text' })
  model!: string;

  @Column({ type: 'text' })
  trainingFile!: string;

  @Column({ type: 'text', nullable: true })
  validationFile!: string | null;

  @Column({ type: 'integer' })
  nEpochs!: number;

  @Column({ type: 'integer' })
  batchSize!: number;

  @Column({ type: 'double precision' })
  learningRateMultiplier!: number;

  @Column({ type: 'text', nullable: true })
  suffix!: string | null;

  @Column({ type: 'integer' })
  seed!: number;

  @Column({ type: 'jsonb', nullable: true })
  metadata!: Record<string, string> | null;

  @Column({ type: 'text' })
  status!: JobStatus;

  /** Tokens the job will train on (assistant tokens per epoch × epochs): what is reserved. */
  @Column({ type: 'bigint', transformer: BIGINT_AS_NUMBER })
  estimatedTokens!: number;

  @Column({ type: 'bigint', nullable: true, transformer: BIGINT_AS_NUMBER })
  trainedTokens!: number | null;

  @Column({ type: 'text', nullable: true })
  fineTunedModel!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  error!: JobError | null;

  @Column({ type: 'timestamptz', nullable: true })
  queuedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  cancelRequestedAt!: Date | null;

  /** The `training_tokens` hold taken at admission. */
  @Column({ type: 'text', nullable: true, select: false })
  trainingReservationId!: string | null;

  /** The id of the `concurrent_fine_tuning_jobs` +1 usage event (the −1 is derived from it). */
  @Column({ type: 'uuid', nullable: true })
  slotEventId!: string | null;

  /** The quota holds are settled (committed or released) after the job finished. */
  @Column({ type: 'boolean', default: false })
  usageSettled!: boolean;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;
}

/** Progress of a job (OpenAI "The fine-tuning job event object"). */
@Entity('fine_tuning_job_events')
export class FineTuningJobEvent {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'bigint', insert: false, transformer: BIGINT_AS_NUMBER })
  seq!: number;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  jobId!: string;

  /** Unique per job (`status:running`, `step:12`, …): a re-run step adds nothing. */
  @Column({ type: 'text' })
  key!: string;

  @Column({ type: 'text' })
  level!: 'info' | 'warn' | 'error';

  @Column({ type: 'text' })
  type!: 'message' | 'metrics';

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: 'jsonb', nullable: true })
  data!: Record<string, unknown> | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}

/** Metrics of a checkpoint (OpenAI names). Losses in mean nats per assistant token. */
export interface CheckpointMetrics {
  step: number;
  train_loss: number;
  valid_loss?: number;
}

/** The model saved at the end of an epoch (OpenAI "The fine-tuning job checkpoint object"). */
@Entity('fine_tuning_checkpoints')
export class FineTuningCheckpoint {
  /** `ftckpt-` and 24 hex digits. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  jobId!: string;

  @Column({ type: 'integer' })
  stepNumber!: number;

  @Column({ type: 'integer' })
  epoch!: number;

  @Column({ type: 'jsonb' })
  metrics!: CheckpointMetrics;

  /** Tokens trained on up to this checkpoint. */
  @Column({ type: 'bigint', transformer: BIGINT_AS_NUMBER })
  trainedTokens!: number;

  @Column({ type: 'text', select: false })
  artifactPath!: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
