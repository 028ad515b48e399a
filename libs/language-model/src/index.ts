/**
 * `@app/language-model`: the small CPU language model behind the local provider's model server,
 * fine-tuning and the gateway's token counting. Plain TypeScript, no Nest.
 */
export {
  countChatTokens,
  countTokens,
  decode,
  encode,
  END_OF_TEXT_TOKEN,
  TOKENIZER_ENCODING,
  VOCABULARY_SIZE,
  type ChatMessage,
} from './tokenizer';
export {
  DEFAULT_CONTEXT_LENGTH,
  EMBEDDING_DIMENSIONS,
  InvalidArtifactError,
  NgramLanguageModel,
  type FinishReason,
  type GenerateOptions,
  type GenerationResult,
  type ModelArtifact,
  type TrainOptions,
} from './ngram-language-model';
export { formatChatPrompt } from './chat-format';
export {
  conversationLoss,
  fineTune,
  fineTuneSteps,
  trainingTokensPerEpoch,
  type ChatConversation,
  type FineTuneOptions,
  type FineTuneResult,
  type FineTuneStep,
  type FineTuneStepResult,
} from './fine-tune';
export { loadModel, saveModel } from './artifact';
export {
  BASE_MODELS,
  baseModel,
  corpusDocuments,
  CORPUS_PATH,
  UnknownBaseModelError,
  type BaseModelSpec,
} from './base-models';
export { modelServerCommand, type ModelServerCommand } from './model-server-command';
