import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  countChatTokens,
  countTokens,
  EMBEDDING_DIMENSIONS,
  formatChatPrompt,
  type GenerationResult,
  type NgramLanguageModel,
} from '@app/language-model';
import { OpenAiError } from './openai-error';
import {
  parseChatCompletion,
  parseCompletion,
  parseEmbedding,
  requireObject,
  type SamplingRequest,
} from './request-parsing';

/** What one replica serves. */
export interface ModelServerOptions {
  /** The model name clients send in `model` (a catalog id or a fine-tuned `ft:…` name). */
  servedModel: string;
  model: NgramLanguageModel;
  modality: 'chat' | 'embedding';
  /** Prompt plus completion limit, in tokens. */
  contextLength: number;
  replicaId: string;
  /**
   * The dedicated endpoint this replica serves. A request naming another in `X-Endpoint-Id` (the
   * gateway sends the one it routed to) is answered 421 Misdirected Request and not served: its
   * sender had this address for a replica that is gone.
   */
  endpointId?: string;
  /** Largest accepted request body in bytes (default 1 MiB); larger is a 413. */
  maxBodyBytes?: number;
  /**
   * Pause after each generated piece, in ms (default 0): emulates a GPU model's decode time so
   * streaming, time-to-first-token and disconnect handling can be observed.
   */
  tokenLatencyMs?: number;
  /** Completion tokens when the request gives no limit (default 256, capped by the context). */
  defaultMaxTokens?: number;
}

/** The server plus what graceful shutdown needs. */
export interface ModelServer {
  server: Server;
  /** Requests being answered now. */
  inFlight(): number;
  /**
   * Stops accepting connections, waits for in-flight requests for at most `timeoutMs`, then
   * closes what is left. Resolves when every connection is closed.
   */
  drain(timeoutMs: number): Promise<void>;
}

/** Bodies are read (and discarded) up to this size to answer 413 cleanly; beyond it we hang up. */
const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * An OpenAI-compatible HTTP server for one model (OpenAI API reference: "Chat", "Completions",
 * "Embeddings", "Models"). Routes: `POST /v1/chat/completions`, `POST /v1/completions`,
 * `POST /v1/embeddings`, `GET /v1/models`, `GET /v1/models/{model}`, `GET /health`. Plain
 * `node:http`, so the process is ready in well under a second.
 */
export function createModelServer(options: ModelServerOptions): ModelServer {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  let inFlight = 0;
  let draining = false;
  const idle: Array<() => void> = [];

  const server = createServer((req, res) => {
    inFlight++;
    res.setHeader('x-request-id', `req_${randomBytes(12).toString('hex')}`);
    handle(req, res)
      .catch((error: unknown) => sendError(res, error))
      .finally(() => {
        inFlight--;
        if (inFlight === 0) idle.splice(0).forEach((resolve) => resolve());
      });
  });
  // Streams flush each chunk at once (Nagle off); keep-alive sockets are closed on drain.
  server.on('connection', (socket) => socket.setNoDelay(true));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (draining) res.setHeader('connection', 'close');
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') {
      return sendJson(res, 200, {
        status: draining ? 'draining' : 'ok',
        model: options.servedModel,
        replicaId: options.replicaId,
        pid: process.pid,
        inFlight: inFlight - 1,
      });
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: [modelObject()] });
    }
    if (req.method === 'GET' && path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (id !== options.servedModel) throw modelNotFound(id);
      return sendJson(res, 200, modelObject());
    }
    const routes: Record<string, (body: Record<string, unknown>) => Promise<void>> = {
      '/v1/chat/completions': (body) => chatCompletion(body, res),
      '/v1/completions': (body) => completion(body, res),
      '/v1/embeddings': (body) => embeddings(body, res),
    };
    const route = routes[path];
    const meant = req.headers['x-endpoint-id'];
    if (
      path in routes &&
      options.endpointId &&
      meant !== undefined &&
      meant !== options.endpointId
    ) {
      // Before the body is read: nothing of the request is used. The connection is closed, so
      // its sender does not keep it for another request to this address.
      res.setHeader('connection', 'close');
      throw new OpenAiError(
        421,
        `This replica serves endpoint ${options.endpointId}, not ${String(meant)}.`,
        'invalid_request_error',
        null,
        'misdirected_request',
      );
    }
    if (!route) {
      throw new OpenAiError(
        404,
        `Unknown route ${req.method} ${path}.`,
        'invalid_request_error',
        null,
        'not_found',
      );
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new OpenAiError(
        405,
        `${path} accepts POST only.`,
        'invalid_request_error',
        null,
        'method_not_allowed',
      );
    }
    const body = requireObject(await readJson(req, maxBodyBytes));
    if (body.model !== options.servedModel) throw modelNotFound(body.model as string);
    await route(body);
  }

  async function chatCompletion(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    requireModality('chat', '/v1/chat/completions');
    const request = parseChatCompletion(body);
    const promptTokens = countChatTokens(request.messages);
    const maxTokens = completionBudget(request, promptTokens, 'messages');
    const generation = options.model.generate(formatChatPrompt(request.messages), {
      maxTokens,
      temperature: request.temperature,
      topP: request.topP,
      seed: request.seed,
      stop: request.stop,
    });
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: 'chat.completion.chunk', created, model: options.servedModel };
    if (request.stream) {
      const stream = openStream(res);
      const usageField = request.includeUsage ? { usage: null } : {};
      const choice = (delta: object, finish: string | null) => ({
        index: 0,
        delta,
        logprobs: null,
        finish_reason: finish,
      });
      // First chunk carries the role with empty content, as OpenAI's streams do.
      stream.send({
        ...base,
        choices: [choice({ role: 'assistant', content: '' }, null)],
        ...usageField,
      });
      const result = await run(generation, res, (piece) =>
        stream.send({ ...base, choices: [choice({ content: piece }, null)], ...usageField }),
      );
      if (!result) return;
      stream.send({ ...base, choices: [choice({}, result.finishReason)], ...usageField });
      if (request.includeUsage) {
        stream.send({ ...base, choices: [], usage: usage(promptTokens, result.completionTokens) });
      }
      stream.end();
      return;
    }
    const result = await run(generation, res, () => undefined);
    if (!result) return;
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model: options.servedModel,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: result.text, refusal: null },
          logprobs: null,
          finish_reason: result.finishReason,
        },
      ],
      usage: usage(promptTokens, result.completionTokens),
    });
  }

  async function completion(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    requireModality('chat', '/v1/completions');
    const request = parseCompletion(body);
    const promptTokens = countTokens(request.prompt);
    const maxTokens = completionBudget(request, promptTokens, 'prompt');
    const generation = options.model.generate(request.prompt, {
      maxTokens,
      temperature: request.temperature,
      topP: request.topP,
      seed: request.seed,
      stop: request.stop,
    });
    const id = `cmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: 'text_completion', created, model: options.servedModel };
    const choice = (text: string, finish: string | null) => ({
      text,
      index: 0,
      logprobs: null,
      finish_reason: finish,
    });
    if (request.stream) {
      const stream = openStream(res);
      const usageField = request.includeUsage ? { usage: null } : {};
      const result = await run(generation, res, (piece) =>
        stream.send({ ...base, choices: [choice(piece, null)], ...usageField }),
      );
      if (!result) return;
      stream.send({ ...base, choices: [choice('', result.finishReason)], ...usageField });
      if (request.includeUsage) {
        stream.send({ ...base, choices: [], usage: usage(promptTokens, result.completionTokens) });
      }
      stream.end();
      return;
    }
    const result = await run(generation, res, () => undefined);
    if (!result) return;
    sendJson(res, 200, {
      ...base,
      choices: [choice(result.text, result.finishReason)],
      usage: usage(promptTokens, result.completionTokens),
    });
  }

  async function embeddings(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    requireModality('embedding', '/v1/embeddings');
    const request = parseEmbedding(body);
    if (body.dimensions !== undefined && body.dimensions !== EMBEDDING_DIMENSIONS) {
      throw OpenAiError.invalid(
        `This model produces ${EMBEDDING_DIMENSIONS} dimensions only.`,
        'dimensions',
      );
    }
    let promptTokens = 0;
    const data = request.input.map((text, index) => {
      const tokens = countTokens(text);
      if (tokens > options.contextLength) {
        throw OpenAiError.invalid(
          `This model's maximum context length is ${options.contextLength} tokens, however you requested ${tokens} tokens in input[${index}].`,
          'input',
          'context_length_exceeded',
        );
      }
      promptTokens += tokens;
      const vector = options.model.embed(text);
      return {
        object: 'embedding',
        index,
        // base64: the little-endian float32 bytes, what OpenAI's clients decode by default.
        embedding:
          request.encodingFormat === 'base64'
            ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
            : vector,
      };
    });
    sendJson(res, 200, {
      object: 'list',
      data,
      model: options.servedModel,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  }

  /**
   * Pulls the generator piece by piece, yielding to the event loop between pieces so each write
   * is flushed and a client hang-up is noticed. Returns null when the client went away (the
   * generator is closed: no more tokens are sampled).
   */
  async function run(
    generation: Generator<string, GenerationResult, void>,
    res: ServerResponse,
    onPiece: (piece: string) => void,
  ): Promise<GenerationResult | null> {
    let gone = false;
    const onClose = () => {
      gone = !res.writableFinished;
    };
    res.once('close', onClose);
    try {
      for (;;) {
        if (gone) {
          generation.return({ text: '', finishReason: 'stop', completionTokens: 0 });
          return null;
        }
        const step = generation.next();
        if (step.done) return step.value;
        onPiece(step.value);
        if (options.tokenLatencyMs) await delay(options.tokenLatencyMs);
        else await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      res.off('close', onClose);
    }
  }

  function completionBudget(request: SamplingRequest, promptTokens: number, param: string): number {
    const available = options.contextLength - promptTokens;
    const requested = request.maxTokens ?? 0;
    if (available < 1 || requested > available) {
      // Message as in OpenAI's context_length_exceeded error.
      throw OpenAiError.invalid(
        `This model's maximum context length is ${options.contextLength} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the ${param}, ${requested} in the completion). Please reduce the length of the ${param} or completion.`,
        param,
        'context_length_exceeded',
      );
    }
    return request.maxTokens ?? Math.min(options.defaultMaxTokens ?? 256, available);
  }

  function requireModality(needed: 'chat' | 'embedding', path: string): void {
    if (options.modality !== needed) {
      throw OpenAiError.invalid(
        `${options.servedModel} is ${options.modality === 'chat' ? 'a chat' : 'an embedding'} model and is not supported in ${path}.`,
        'model',
        'model_not_supported',
      );
    }
  }

  function modelObject() {
    return { id: options.servedModel, object: 'model', created: 0, owned_by: 'local' };
  }

  return {
    server,
    inFlight: () => inFlight,
    async drain(timeoutMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const finished = inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => idle.push(r));
      const timeout = delay(timeoutMs, 'timeout', { ref: false });
      await Promise.race([finished, timeout]);
      server.closeAllConnections();
      await closed;
    },
  };
}

function usage(promptTokens: number, completionTokens: number) {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

function modelNotFound(model: string): OpenAiError {
  return new OpenAiError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error',
    'model',
    'model_not_found',
  );
}

/** Server-sent events as OpenAI streams them: `data: <json>\n\n` per chunk, then `data: [DONE]`. */
function openStream(res: ServerResponse) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  return {
    send: (chunk: object) => res.write(`data: ${JSON.stringify(chunk)}\n\n`),
    end: (): void => {
      res.end('data: [DONE]\n\n');
    },
  };
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > DISCARD_LIMIT_BYTES) req.destroy();
    else if (size <= limit) chunks.push(chunk);
  }
  if (size > limit || declared > limit) {
    throw new OpenAiError(
      413,
      `The request body is ${size} bytes; the limit is ${limit} bytes.`,
      'invalid_request_error',
      null,
      'request_too_large',
    );
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw OpenAiError.invalid(
      'We could not parse the JSON body of your request. The body must be valid JSON.',
      null,
      'invalid_json',
    );
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

function sendError(res: ServerResponse, error: unknown): void {
  const apiError =
    error instanceof OpenAiError
      ? error
      : new OpenAiError(500, 'The server had an error processing your request.', 'server_error');
  if (!(error instanceof OpenAiError)) {
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: String(error) })}\n`);
  }
  if (res.headersSent) {
    // Mid-stream: the status is already 200; end the event stream with an error event.
    if (!res.writableEnded) res.end(`data: ${JSON.stringify(apiError.toBody())}\n\n`);
    return;
  }
  sendJson(res, apiError.status, apiError.toBody());
}
