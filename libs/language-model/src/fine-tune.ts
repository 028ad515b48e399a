import { formatChatPrompt } from './chat-format';
import { NgramLanguageModel } from './ngram-language-model';
import { SeededRandom } from './random';
import { encode, END_OF_TEXT_TOKEN, type ChatMessage } from './tokenizer';

/** One training example in OpenAI's chat fine-tuning format (one JSONL line). */
export interface ChatConversation {
  messages: ChatMessage[];
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
 * Each epoch shuffles the examples (seeded) and walks them in batches; a step first measures the
 * batch's loss, then adds the batch's n-gram counts with weight `learningRateMultiplier`, so the
 * counts of the fine-tuning data grow each epoch and the train loss falls. The base model is not
 * changed (the result is a copy).
 *
 * @throws RangeError when no conversation has an assistant message, or options are out of range
 */
export function fineTune(
  base: NgramLanguageModel,
  conversations: readonly ChatConversation[],
  options: FineTuneOptions = {},
): FineTuneResult {
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 4;
  const weight = options.learningRateMultiplier ?? 2;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError('epochs must be ≥ 1');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be ≥ 1');
  if (!(weight > 0)) throw new RangeError('learningRateMultiplier must be > 0');
  const examples = conversations.flatMap(toExamples);
  if (examples.length === 0) throw new RangeError('no assistant message to train on');
  const validation = (options.validation ?? []).flatMap(toExamples);

  const model = base.clone();
  const random = new SeededRandom(options.seed ?? 0);
  const stepsPerEpoch = Math.ceil(examples.length / batchSize);
  const steps: FineTuneStep[] = [];
  let trainedTokens = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = random.shuffle([...examples]);
    for (let offset = 0; offset < order.length; offset += batchSize) {
      const batch = order.slice(offset, offset + batchSize);
      const step: FineTuneStep = {
        step: steps.length + 1,
        totalSteps: stepsPerEpoch * epochs,
        epoch,
        trainLoss: meanLoss(model, batch),
      };
      for (const example of batch) {
        model.addSequence(example.context, example.targets, weight);
        trainedTokens += example.targets.length;
      }
      if (offset + batchSize >= order.length && validation.length > 0) {
        step.validationLoss = meanLoss(model, validation);
      }
      steps.push(step);
      options.onStep?.(step);
    }
  }
  return { model, steps, trainedTokens };
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
    if (message.role !== 'assistant') return;
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
