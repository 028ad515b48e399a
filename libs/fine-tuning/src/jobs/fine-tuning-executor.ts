import { AppConfig, InjectConfig } from '@app/core';
import {
  BASE_MODELS,
  baseModel,
  fineTuneSteps,
  loadModel,
  saveModel,
  type ChatConversation,
  type FineTuneStepResult,
  type NgramLanguageModel,
} from '@app/language-model';
import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What to train: one attempt of one job. */
export interface TrainingRun {
  tenantId: string;
  jobId: string;
  /** The base model's catalog id. */
  baseModel: string;
  training: ChatConversation[];
  validation: ChatConversation[];
  nEpochs: number;
  batchSize: number;
  learningRateMultiplier: number;
  seed: number;
  /** The last checkpoint of an earlier attempt: training goes on from the epoch after it. */
  resumeFrom?: { epoch: number; artifactPath: string; trainedTokens: number };
  /** Where checkpoints are written (a folder of this job's own). */
  artifactDir: string;
}

/** A checkpoint the executor saved at the end of an epoch. */
export interface SavedCheckpoint {
  epoch: number;
  step: number;
  trainLoss: number;
  validLoss?: number;
  /** Tokens trained on up to here. */
  trainedTokens: number;
  artifactPath: string;
}

/** How the runner follows and steers a training run. */
export interface TrainingHooks {
  /** After every step, in order (steps re-run after a resume come again, identical). */
  step(step: FineTuneStepResult): Promise<void>;
  /** After each epoch's checkpoint is saved. */
  checkpoint(checkpoint: SavedCheckpoint): Promise<void>;
  /** Asked between steps: stop for a cancel, or for the worker's shutdown (resumed elsewhere). */
  shouldStop(): Promise<'cancel' | 'shutdown' | undefined>;
}

export type TrainingOutcome =
  | { kind: 'completed'; artifactPath: string; trainedTokens: number }
  | { kind: 'stopped'; reason: 'cancel' | 'shutdown'; trainedTokens: number };

/**
 * A training failure with a code for the job's `error`. `permanent` ones fail the job at once;
 * the others are retried with backoff (FINE_TUNING_MAX_ATTEMPTS).
 */
export class FineTuningFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'FineTuningFailure';
  }
}

/** Runs a trainer: the seam between the runner (queue, records, quota) and the training itself. */
export abstract class FineTuningExecutor {
  /** @throws FineTuningFailure; anything else counts as transient */
  abstract train(run: TrainingRun, hooks: TrainingHooks): Promise<TrainingOutcome>;
}

/**
 * The `local` executor: really trains the local provider's model family (the n-gram models of
 * `@app/language-model`) on CPU, in this process, step by step (`fineTuneSteps`), saving the
 * model at every epoch's end. A pause of FINE_TUNING_STEP_DELAY_MS after each step stands in for
 * an accelerator's step time and keeps the event loop free (lock renewals, cancel checks).
 */
@Injectable()
export class LocalFineTuningExecutor extends FineTuningExecutor {
  constructor(@InjectConfig() private readonly config: AppConfig) {
    super();
  }

  async train(run: TrainingRun, hooks: TrainingHooks): Promise<TrainingOutcome> {
    const spec = BASE_MODELS[run.baseModel];
    if (!spec || spec.modality !== 'chat') {
      throw new FineTuningFailure(
        'unsupported_base_model',
        `The local executor cannot train ${run.baseModel}.`,
        true,
        'model',
      );
    }
    let model: NgramLanguageModel;
    let trainedTokens = run.resumeFrom?.trainedTokens ?? 0;
    let artifactPath = run.resumeFrom?.artifactPath;
    if (run.resumeFrom) {
      model = (await loadModel(run.resumeFrom.artifactPath)).model;
    } else {
      model = baseModel(run.baseModel).clone();
    }
    let steps: Generator<FineTuneStepResult, void, void>;
    try {
      steps = fineTuneSteps(model, run.training, {
        epochs: run.nEpochs,
        batchSize: run.batchSize,
        learningRateMultiplier: run.learningRateMultiplier,
        seed: run.seed,
        validation: run.validation,
        startEpoch: (run.resumeFrom?.epoch ?? 0) + 1,
      });
    } catch (error) {
      throw new FineTuningFailure('invalid_training_file', String(error), true, 'training_file');
    }
    for (const step of steps) {
      trainedTokens += step.trainedTokens;
      await hooks.step(step);
      if (step.epochEnd) {
        artifactPath = join(run.artifactDir, `epoch-${step.epoch}.json`);
        await saveModel(model, artifactPath, {
          base: run.baseModel,
          job: run.jobId,
          epoch: step.epoch,
          step: step.step,
        });
        await hooks.checkpoint({
          epoch: step.epoch,
          step: step.step,
          trainLoss: step.trainLoss,
          ...(step.validationLoss !== undefined ? { validLoss: step.validationLoss } : {}),
          trainedTokens,
          artifactPath,
        });
      }
      const stop = await hooks.shouldStop();
      if (stop) return { kind: 'stopped', reason: stop, trainedTokens };
      if (this.config.FINE_TUNING_STEP_DELAY_MS > 0) {
        await sleep(this.config.FINE_TUNING_STEP_DELAY_MS);
      }
    }
    if (!artifactPath) throw new FineTuningFailure('no_checkpoint', 'No epoch was trained.', true);
    return { kind: 'completed', artifactPath, trainedTokens };
  }
}
