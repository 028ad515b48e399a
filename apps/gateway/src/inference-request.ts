import { ChatMessage, countChatTokens, countTokens } from '@app/language-model';
import { invalidRequest } from './openai-error';

export type InferenceKind = 'chat' | 'completion' | 'embedding';

/** What the gateway needs from a request body, checked before anything is reserved. */
export interface InferenceRequest {
  kind: InferenceKind;
  model: string;
  stream: boolean;
  /** The client asked for the final usage chunk of a stream (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** Prompt tokens, counted with the model server's tokenizer and chat format. */
  promptTokens: number;
  /** Completion tokens to reserve: `max_completion_tokens`, `max_tokens` or the default. */
  maxTokens: number;
  /** The client named the budget (else the default applies, capped to the model's context). */
  maxTokensGiven: boolean;
  body: Record<string, unknown>;
}

const MAX_TOKENS_LIMIT = 1_000_000;

/**
 * Reads an OpenAI request body (OpenAI API reference: "Create chat completion", "Create
 * completion", "Create embeddings") far enough to route, count and reserve it; the model server
 * validates the rest. @throws OpenAiError 400 naming the bad parameter
 */
export function readInferenceRequest(
  kind: InferenceKind,
  raw: unknown,
  defaultMaxTokens: number,
): InferenceRequest {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidRequest('The request body must be a JSON object.');
  }
  const body = raw as Record<string, unknown>;
  if (typeof body.model !== 'string' || body.model.length === 0 || body.model.length > 256) {
    throw invalidRequest("'model' is required: a model name (string).", 'model');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    throw invalidRequest("'stream' must be a boolean.", 'stream');
  }
  const stream = body.stream === true && kind !== 'embedding';
  if (
    body.stream_options !== undefined &&
    body.stream_options !== null &&
    (typeof body.stream_options !== 'object' || Array.isArray(body.stream_options))
  ) {
    throw invalidRequest("'stream_options' must be an object.", 'stream_options');
  }
  const options = body.stream_options as { include_usage?: unknown } | undefined | null;
  const includeUsage = stream && options?.include_usage === true;
  let promptTokens: number;
  if (kind === 'chat') promptTokens = countChatTokens(chatMessages(body.messages));
  else if (kind === 'completion') promptTokens = textsOf(body.prompt, 'prompt');
  else promptTokens = textsOf(body.input, 'input');
  const given = completionBudget(body);
  const maxTokens = kind === 'embedding' ? 0 : (given ?? defaultMaxTokens);
  return {
    kind,
    model: body.model,
    stream,
    includeUsage,
    promptTokens,
    maxTokens,
    maxTokensGiven: given !== undefined,
    body,
  };
}

/**
 * Fits a request to its model's context length (tokens, prompt and completion together): a
 * default budget shrinks to what is left (as the model server would), a named one that does not
 * fit is refused before anything is reserved. @throws OpenAiError 400 `context_length_exceeded`
 */
export function fitToContext(request: InferenceRequest, contextLength: number): InferenceRequest {
  if (request.kind === 'embedding' || contextLength <= 0) return request;
  const available = contextLength - request.promptTokens;
  if (!request.maxTokensGiven && available >= 1) {
    return { ...request, maxTokens: Math.min(request.maxTokens, available) };
  }
  if (request.promptTokens + request.maxTokens > contextLength) {
    throw invalidRequest(
      `This model's maximum context length is ${contextLength} tokens. However, you requested ${request.promptTokens + request.maxTokens} tokens (${request.promptTokens} in the prompt, ${request.maxTokens} in the completion).`,
      request.kind === 'chat' ? 'messages' : 'prompt',
      'context_length_exceeded',
    );
  }
  return request;
}

function completionBudget(body: Record<string, unknown>): number | undefined {
  for (const param of ['max_completion_tokens', 'max_tokens']) {
    const value = body[param];
    if (value === undefined || value === null) continue;
    if (
      !Number.isSafeInteger(value) ||
      (value as number) < 1 ||
      (value as number) > MAX_TOKENS_LIMIT
    ) {
      throw invalidRequest(`'${param}' must be an integer from 1 to ${MAX_TOKENS_LIMIT}.`, param);
    }
    return value as number;
  }
  return undefined;
}

function chatMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidRequest("'messages' is required: a non-empty array of messages.", 'messages');
  }
  return value.map((message, i) => {
    const param = `messages[${i}]`;
    if (!message || typeof message !== 'object') {
      throw invalidRequest(`'${param}' must be an object with a role and content.`, param);
    }
    const { role, content, name } = message as Record<string, unknown>;
    if (typeof role !== 'string')
      throw invalidRequest(`'${param}.role' is required.`, `${param}.role`);
    let text: string;
    if (typeof content === 'string') text = content;
    else if (content === null || content === undefined) text = '';
    else if (Array.isArray(content)) {
      // Content parts: only text parts carry text (as the model server reads them).
      text = content
        .map((part) =>
          part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string'
            ? (part as { text: string }).text
            : '',
        )
        .join('');
    } else {
      throw invalidRequest(
        `'${param}.content' must be a string or an array of text parts.`,
        `${param}.content`,
      );
    }
    return typeof name === 'string' ? { role, content: text, name } : { role, content: text };
  });
}

/** Tokens of a prompt or embedding input: a string, strings, or token arrays. */
function textsOf(value: unknown, param: string): number {
  if (typeof value === 'string') return countTokens(value);
  if (Array.isArray(value) && value.length > 0) {
    return value.reduce<number>((sum, item, i) => {
      if (typeof item === 'string') return sum + countTokens(item);
      if (typeof item === 'number') return sum + 1;
      if (Array.isArray(item) && item.every((t) => typeof t === 'number')) return sum + item.length;
      throw invalidRequest(`'${param}[${i}]' must be a string or an array of tokens.`, param);
    }, 0);
  }
  throw invalidRequest(`'${param}' is required: a string or an array of strings.`, param);
}
