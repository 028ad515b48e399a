import { formatChatPrompt } from './chat-format';
import { NgramLanguageModel } from './ngram-language-model';
import { SeededRandom } from './random';
import { encode, END_OF_TEXT_TOKEN, type ChatMessage } from './tokenizer';

/**
 * One training example in OpenAI's chat fine-tuning format (one JSONL line). An assistant
 * message with `weight: 0` is context only: not trained on, not counted (OpenAI's weight field).
 */
export interface ChatConversation {
  messages: (ChatMessage & { weight?: 0 | 1 })[];
}

/** Hyperparameters of {@link fineTune}, named after OpenAI's fine-tuning API where they exist. */
export interface FineTuneOptions {
  /** Passes over the training data; ≥ 1, default 3. */
  epochs?: number;
  /** Conversations per step; ≥ 1, default 4. */
  batchSize?: number;
  /**
   * Count weight of one occurrence in the fine-tuning data relative to one in the base corpus, per
   * epoch; > 0, default 2. Larger adapts faster and forgets the base model more.
   */
  learningRateMultiplier?: number;
  /** Seeds the per-epoch shuffle; default 0. */
  seed?: number;
  /** Conversations scored (never trained on) at the last step of each epoch. */
  validation?: readonly ChatConversation[];
  /** Called after every step, in order. */
  onStep?: (step: FineTuneStep) => void;
}

/** Progress of one optimisation step. Losses are mean nats per assistant token. */
export interface FineTuneStep {
  /** 1-based. */
  step: number;
  totalSteps: number;
  /** 1-based. */
  epoch: number;
  /** Loss of the step's batch under the model *before* the step's update (as SGD reports it). */
  trainLoss: number;
  /** Loss of the validation set after the step; only at the last step of an epoch. */
  validationLoss?: number;
}

/** What {@link fineTune} returns. */
export interface FineTuneResult {
  model: NgramLanguageModel;
  steps: FineTuneStep[];
  /** Assistant tokens trained on, summed over epochs (what OpenAI bills as `trained_tokens`). */
  trainedTokens: number;
}

/** An assistant turn to learn: the prompt before it and its tokens, closed by end-of-text. */
interface Example {
  context: number[];
  targets: number[];
}

/**
 * Adapts a base model to chat conversations, supervised fine-tuning style: every assistant message
 * is a target, conditioned on the conversation before it rendered with the chat template
 * ({@link formatChatPrompt}); system and user turns are context only (the loss mask OpenAI uses).
 *
 * Each epoch shuffles the examples (seeded per epoch, so an epoch can be re-run alone: see
 * {@link fineTuneSteps}) and walks them in batches; a step first measures the batch's loss, then
 * adds the batch's n-gram counts with weight `learningRateMultiplier`, so the counts of the
 * fine-tuning data grow each epoch and the train loss falls. The base model is not changed (the
 * result is a copy).
 *
 * @throws RangeError when no conversation has an assistant message, or options are out of range
 */
export function fineTune(
  base: NgramLanguageModel,
  conversations: readonly ChatConversation[],
  options: FineTuneOptions = {},
): FineTuneResult {
  const model = base.clone();
  const steps: FineTuneStep[] = [];
  let trainedTokens = 0;
  for (const step of fineTuneSteps(model, conversations, options)) {
    steps.push(step);
    trainedTokens += step.trainedTokens;
    options.onStep?.(step);
  }
  return { model, steps, trainedTokens };
}

/** One step of {@link fineTuneSteps}: the progress, and the tokens this step trained on. */
export interface FineTuneStepResult extends FineTuneStep {
  /** Assistant tokens of this step's batch. */
  trainedTokens: number;
  /** The last step of its epoch (where a checkpoint belongs). */
  epochEnd: boolean;
}

/**
 * The steps of {@link fineTune}, one per iteration, updating `model` **in place** (pass a clone):
 * a caller can pause between steps (to yield the event loop, check a cancel flag, save a
 * checkpoint at an epoch's end) and stop early. `startEpoch` (1-based, default 1) skips the
 * epochs before it, for resuming from the checkpoint saved at the end of epoch `startEpoch − 1`:
 * because each epoch's shuffle is seeded by `(seed, epoch)` alone, the resumed steps are the very
 * steps (same batches, same losses) an uninterrupted run takes.
 *
 * @throws RangeError as {@link fineTune}, and when `startEpoch` is not in 1..epochs + 1
 */
export function* fineTuneSteps(
  model: NgramLanguageModel,
  conversations: readonly ChatConversation[],
  options: FineTuneOptions & { startEpoch?: number } = {},
): Generator<FineTuneStepResult, void, void> {
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 4;
  const weight = options.learningRateMultiplier ?? 2;
  const startEpoch = options.startEpoch ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError('epochs must be ≥ 1');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be ≥ 1');
  if (!(weight > 0)) throw new RangeError('learningRateMultiplier must be > 0');
  if (!Number.isInteger(startEpoch) || startEpoch < 1 || startEpoch > epochs + 1) {
    throw new RangeError('startEpoch must be in 1..epochs + 1');
  }
  const examples = conversations.flatMap(toExamples);
  if (examples.length === 0) throw new RangeError('no assistant message to train on');
  const validation = (options.validation ?? []).flatMap(toExamples);
  const stepsPerEpoch = Math.ceil(examples.length / batchSize);
  for (let epoch = startEpoch; epoch <= epochs; epoch++) {
    const order = new SeededRandom(epochSeed(options.seed ?? 0, epoch)).shuffle([...examples]);
    for (let offset = 0; offset < order.length; offset += batchSize) {
      const batch = order.slice(offset, offset + batchSize);
      const step: FineTuneStepResult = {
        step: (epoch - 1) * stepsPerEpoch + offset / batchSize + 1,
        totalSteps: stepsPerEpoch * epochs,
        epoch,
        trainLoss: meanLoss(model, batch),
        trainedTokens: 0,
        epochEnd: offset + batchSize >= order.length,
      };
      for (const example of batch) {
        model.addSequence(example.context, example.targets, weight);
        step.trainedTokens += example.targets.length;
      }
      if (step.epochEnd && validation.length > 0) {
        step.validationLoss = meanLoss(model, validation);
      }
      yield step;
    }
  }
}

/**
 * Assistant tokens one epoch over `conversations` trains on (what {@link fineTune} counts in
 * `trainedTokens`, per epoch): the tokens of every assistant message plus its end-of-text token,
 * counted with the shared tokenizer. Multiply by the epochs for a job's `trained_tokens`.
 */
export function trainingTokensPerEpoch(conversations: readonly ChatConversation[]): number {
  return conversations
    .flatMap((conversation) => conversation.messages)
    .filter((message) => message.role === 'assistant' && message.weight !== 0)
    .reduce((sum, message) => sum + encode(message.content).length + 1, 0);
}

/** The shuffle seed of one epoch: a function of the job's seed and the epoch only. */
function epochSeed(seed: number, epoch: number): number {
  return Math.imul(seed >>> 0, 0x9e3779b1) ^ epoch;
}

/**
 * Mean nats per assistant token of `conversations` under `model`: the loss {@link fineTune}
 * reports, for evaluating a model on held-out conversations.
 */
export function conversationLoss(
  model: NgramLanguageModel,
  conversations: readonly ChatConversation[],
): number {
  return meanLoss(model, conversations.flatMap(toExamples));
}

function toExamples(conversation: ChatConversation): Example[] {
  const examples: Example[] = [];
  conversation.messages.forEach((message, index) => {
    if (message.role !== 'assistant' || message.weight === 0) return;
    examples.push({
      context: encode(formatChatPrompt(conversation.messages.slice(0, index))),
      targets: [...encode(message.content), END_OF_TEXT_TOKEN],
    });
  });
  return examples;
}

function meanLoss(model: NgramLanguageModel, examples: readonly Example[]): number {
  let nats = 0;
  let tokens = 0;
  for (const example of examples) {
    const score = model.score(example.context, example.targets);
    nats += score.nats;
    tokens += score.tokens;
  }
  return tokens > 0 ? nats / tokens : 0;
}
