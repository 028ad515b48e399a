import type { ChatMessage } from '@app/language-model';
import { OpenAiError } from './openai-error';

/**
 * Validation of request bodies against the OpenAI API reference (Chat: "Create chat completion";
 * Completions: "Create completion"; Embeddings: "Create embeddings"). Fields this server does not
 * implement (tools, logprobs, n > 1, …) are rejected when they would change the answer, ignored
 * otherwise. Every failure is a 400 {@link OpenAiError} naming the field.
 */

/** Sampling fields common to chat and text completions. */
export interface SamplingRequest {
  model: string;
  /** Absent when the request gives no limit: the server picks one that fits the context. */
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  seed: number | undefined;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
}

export interface ChatCompletionRequest extends SamplingRequest {
  messages: ChatMessage[];
}

export interface CompletionRequest extends SamplingRequest {
  prompt: string;
}

export interface EmbeddingRequest {
  model: string;
  input: string[];
  encodingFormat: 'float' | 'base64';
}

const CHAT_ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

/** The body must be a JSON object with a string `model`. */
export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw OpenAiError.invalid('The request body must be a JSON object.');
  }
  const object = body as Record<string, unknown>;
  if (typeof object.model !== 'string' || object.model.length === 0) {
    throw OpenAiError.invalid('you must provide a model parameter', 'model');
  }
  return object;
}

export function parseChatCompletion(body: Record<string, unknown>): ChatCompletionRequest {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw OpenAiError.invalid("'messages' must be a non-empty array.", 'messages');
  }
  return {
    ...parseSampling(body, 'max_completion_tokens'),
    messages: messages.map((message, index) => parseMessage(message, index)),
  };
}

export function parseCompletion(body: Record<string, unknown>): CompletionRequest {
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (typeof prompt !== 'string') {
    throw OpenAiError.invalid("'prompt' must be a string (or an array of one string).", 'prompt');
  }
  return { ...parseSampling(body, 'max_tokens'), prompt };
}

export function parseEmbedding(body: Record<string, unknown>): EmbeddingRequest {
  const raw = body.input;
  const input = typeof raw === 'string' ? [raw] : raw;
  if (
    !Array.isArray(input) ||
    input.length === 0 ||
    input.length > 2048 ||
    !input.every((item) => typeof item === 'string' && item.length > 0)
  ) {
    throw OpenAiError.invalid(
      "'input' must be a non-empty string or an array of 1 to 2048 non-empty strings.",
      'input',
    );
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw OpenAiError.invalid("'encoding_format' must be 'float' or 'base64'.", 'encoding_format');
  }
  return { model: body.model as string, input: input as string[], encodingFormat: format };
}

function parseMessage(value: unknown, index: number): ChatMessage {
  const param = `messages[${index}]`;
  if (typeof value !== 'object' || value === null) {
    throw OpenAiError.invalid(`'${param}' must be an object.`, param);
  }
  const { role, content, name } = value as Record<string, unknown>;
  if (typeof role !== 'string' || !CHAT_ROLES.has(role)) {
    throw OpenAiError.invalid(
      `'${param}.role' must be one of ${[...CHAT_ROLES].join(', ')}.`,
      `${param}.role`,
    );
  }
  let text: string;
  if (typeof content === 'string') text = content;
  else if (content === null && role === 'assistant') text = '';
  else if (Array.isArray(content) && content.every(isTextPart)) {
    // Content parts (API reference: "Array of content parts"): only text parts carry text here.
    text = content.map((part) => part.text).join('');
  } else {
    throw OpenAiError.invalid(
      `'${param}.content' must be a string or an array of text parts.`,
      `${param}.content`,
    );
  }
  if (name !== undefined && typeof name !== 'string') {
    throw OpenAiError.invalid(`'${param}.name' must be a string.`, `${param}.name`);
  }
  return name === undefined ? { role, content: text } : { role, content: text, name };
}

function isTextPart(part: unknown): part is { type: 'text'; text: string } {
  const record = part as Record<string, unknown> | null;
  return record?.type === 'text' && typeof record.text === 'string';
}

function parseSampling(
  body: Record<string, unknown>,
  maxTokensField: 'max_tokens' | 'max_completion_tokens',
): SamplingRequest {
  // Chat accepts the newer max_completion_tokens and the deprecated max_tokens; the first wins.
  const maxField = body[maxTokensField] !== undefined ? maxTokensField : 'max_tokens';
  const maxTokens = body[maxField];
  if (
    maxTokens !== undefined &&
    maxTokens !== null &&
    (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)
  ) {
    throw OpenAiError.invalid(`'${maxField}' must be an integer ≥ 1.`, maxField);
  }
  const temperature = optionalNumber(body, 'temperature', 0, 2) ?? 1;
  const topP = optionalNumber(body, 'top_p', 0, 1) ?? 1;
  const seed = body.seed ?? undefined;
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw OpenAiError.invalid("'seed' must be an integer.", 'seed');
  }
  const n = body.n ?? 1;
  if (n !== 1) throw OpenAiError.invalid('Only n = 1 is supported.', 'n');
  const stream = body.stream ?? false;
  if (typeof stream !== 'boolean')
    throw OpenAiError.invalid("'stream' must be a boolean.", 'stream');
  const streamOptions = body.stream_options ?? undefined;
  if (streamOptions !== undefined && (typeof streamOptions !== 'object' || !stream)) {
    throw OpenAiError.invalid(
      "'stream_options' is an object allowed only when 'stream' is true.",
      'stream_options',
    );
  }
  return {
    model: body.model as string,
    maxTokens: (maxTokens ?? undefined) as number | undefined,
    temperature,
    topP,
    seed: seed as number | undefined,
    stop: parseStop(body.stop),
    stream,
    includeUsage: (streamOptions as { include_usage?: unknown })?.include_usage === true,
  };
}

function optionalNumber(
  body: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw OpenAiError.invalid(`'${field}' must be a number between ${min} and ${max}.`, field);
  }
  return value;
}

function parseStop(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const stops = typeof stop === 'string' ? [stop] : stop;
  if (
    !Array.isArray(stops) ||
    stops.length > 4 ||
    !stops.every((item) => typeof item === 'string')
  ) {
    throw OpenAiError.invalid("'stop' must be a string or an array of up to 4 strings.", 'stop');
  }
  return stops as string[];
}
