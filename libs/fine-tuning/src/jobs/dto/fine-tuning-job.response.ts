import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { JOB_STATUSES, JobStatus } from '../job-lifecycle';
import type {
  CheckpointMetrics,
  FineTuningCheckpoint,
  FineTuningJob,
  FineTuningJobEvent,
  JobError,
} from '../fine-tuning-job.entity';

const seconds = (date: Date | null) => (date ? Math.floor(date.getTime() / 1000) : null);

/** Resolved hyperparameters (no `auto` left). */
export class ResolvedHyperparameters {
  @ApiProperty() n_epochs!: number;
  @ApiProperty() batch_size!: number;
  @ApiProperty() learning_rate_multiplier!: number;
}

/** OpenAI "The fine-tuning job object". Times are Unix seconds. */
export class FineTuningJobObject {
  @ApiProperty({ example: 'ftjob-5f2c0e6a1b9d4c3e8a7f6b21' }) id!: string;
  @ApiProperty({ example: 'fine_tuning.job' }) object!: 'fine_tuning.job';
  @ApiProperty() created_at!: number;
  @ApiProperty({ type: Number, nullable: true }) finished_at!: number | null;
  @ApiProperty({ description: 'The base model.' }) model!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'ft:llama-3-8b-local:acme:support-desk:ftjob-5f2c0e6a1b9d4c3e8a7f6b21',
    description:
      'Once succeeded: `ft:{base}:{tenant slug}:{suffix}:{job id}`, deployable on an endpoint.',
  })
  fine_tuned_model!: string | null;
  @ApiProperty({ description: 'The tenant.' }) organization_id!: string;
  @ApiProperty({ enum: JOB_STATUSES }) status!: JobStatus;
  @ApiProperty({ type: ResolvedHyperparameters }) hyperparameters!: ResolvedHyperparameters;
  @ApiProperty({ description: 'Supervised, with the same hyperparameters.' })
  method!: { type: 'supervised'; supervised: { hyperparameters: ResolvedHyperparameters } };
  @ApiProperty() training_file!: string;
  @ApiProperty({ type: String, nullable: true }) validation_file!: string | null;
  @ApiProperty({ type: [String] }) result_files!: string[];
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Tokens trained on (assistant tokens × epochs).',
  })
  trained_tokens!: number | null;
  @ApiProperty({ description: 'Tokens the job will train on, reserved against `training_tokens`.' })
  estimated_tokens!: number;
  @ApiProperty({ nullable: true, description: '`{code, message, param}` of a failed job.' })
  error!: JobError | null;
  @ApiProperty() seed!: number;
  @ApiProperty({ type: String, nullable: true }) suffix!: string | null;
  @ApiPropertyOptional({ type: Object, nullable: true }) metadata!: Record<string, string> | null;
  @ApiProperty({ type: Boolean, description: 'A cancel was asked and is being honoured.' })
  cancel_requested!: boolean;
  @ApiProperty({ type: [Object] }) integrations!: [];
  @ApiProperty({ type: Number, nullable: true }) estimated_finish!: null;

  static of(job: FineTuningJob): FineTuningJobObject {
    const hyperparameters = {
      n_epochs: job.nEpochs,
      batch_size: job.batchSize,
      learning_rate_multiplier: job.learningRateMultiplier,
    };
    return {
      id: job.id,
      object: 'fine_tuning.job',
      created_at: seconds(job.createdAt)!,
      finished_at: seconds(job.finishedAt),
      model: job.model,
      fine_tuned_model: job.fineTunedModel,
      organization_id: job.tenantId,
      status: job.status,
      hyperparameters,
      method: { type: 'supervised', supervised: { hyperparameters } },
      training_file: job.trainingFile,
      validation_file: job.validationFile,
      result_files: [],
      trained_tokens: job.trainedTokens,
      estimated_tokens: job.estimatedTokens,
      error: job.error,
      seed: job.seed,
      suffix: job.suffix,
      metadata: job.metadata,
      cancel_requested: job.cancelRequestedAt !== null && job.status === 'running',
      integrations: [],
      estimated_finish: null,
    };
  }
}

/** OpenAI "The fine-tuning job event object". */
export class FineTuningJobEventObject {
  @ApiProperty({ example: 'ftevent-0b6e6d2c4f8a4e1b9d3c2a1f0e9d8c7b' }) id!: string;
  @ApiProperty({ example: 'fine_tuning.job.event' }) object!: 'fine_tuning.job.event';
  @ApiProperty() created_at!: number;
  @ApiProperty({ enum: ['info', 'warn', 'error'] }) level!: string;
  @ApiProperty() message!: string;
  @ApiProperty({ enum: ['message', 'metrics'] }) type!: string;
  @ApiProperty({
    type: Object,
    nullable: true,
    description:
      'Metrics: `step`, `total_steps`, `epoch`, `train_loss`, `valid_loss` (nats per token).',
  })
  data!: Record<string, unknown> | null;

  static of(event: FineTuningJobEvent): FineTuningJobEventObject {
    return {
      id: eventPublicId(event.id),
      object: 'fine_tuning.job.event',
      created_at: seconds(event.createdAt)!,
      level: event.level,
      message: event.message,
      type: event.type,
      data: event.data,
    };
  }
}

/** `ftevent-` and the event's UUID without dashes. */
export function eventPublicId(uuid: string): string {
  return `ftevent-${uuid.replace(/-/g, '')}`;
}

/** The event UUID of a public id, or undefined when it is not one. */
export function eventUuid(publicId: string): string | undefined {
  const match = /^ftevent-([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/.exec(
    publicId,
  );
  return match ? match.slice(1).join('-') : undefined;
}

/** OpenAI "The fine-tuning job checkpoint object". */
export class FineTuningCheckpointObject {
  @ApiProperty({ example: 'ftckpt-5f2c0e6a1b9d4c3e8a7f6b21' }) id!: string;
  @ApiProperty({ example: 'fine_tuning.job.checkpoint' }) object!: 'fine_tuning.job.checkpoint';
  @ApiProperty() created_at!: number;
  @ApiProperty({ example: 'ft:llama-3-8b-local:acme:support-desk:ftjob-…:ckpt-step-12' })
  fine_tuned_model_checkpoint!: string;
  @ApiProperty() step_number!: number;
  @ApiProperty({ description: '`step`, `train_loss`, `valid_loss` (nats per token).' })
  metrics!: CheckpointMetrics;
  @ApiProperty() fine_tuning_job_id!: string;

  static of(checkpoint: FineTuningCheckpoint, modelName: string): FineTuningCheckpointObject {
    return {
      id: checkpoint.id,
      object: 'fine_tuning.job.checkpoint',
      created_at: seconds(checkpoint.createdAt)!,
      fine_tuned_model_checkpoint: `${modelName}:ckpt-step-${checkpoint.stepNumber}`,
      step_number: checkpoint.stepNumber,
      metrics: checkpoint.metrics,
      fine_tuning_job_id: checkpoint.jobId,
    };
  }
}

/** An OpenAI list (`object: "list"`, `has_more`). */
export class FineTuningList<T> {
  @ApiProperty({ example: 'list' }) object!: 'list';
  data!: T[];
  @ApiProperty() has_more!: boolean;
}
