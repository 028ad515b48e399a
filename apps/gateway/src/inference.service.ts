import { AppConfig, InjectConfig, TRACED_BY_CALLER } from '@app/core';
import { countTokens } from '@app/language-model';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  Agent,
  ClientRequest,
  IncomingMessage,
  request as httpRequest,
  ServerResponse,
} from 'node:http';
import { EndpointRoutes, Route } from './endpoint-routes';
import { GatewayKeys, InferenceCaller } from './gateway-keys';
import { GatewayQuota, Holds, InferenceUsage } from './gateway-quota';
import {
  fitToContext,
  InferenceKind,
  InferenceRequest,
  readInferenceRequest,
} from './inference-request';
import { OpenAiError, sendOpenAiError } from './openai-error';
import { UsageRecorder } from './usage-recorder';

const PATHS: Record<InferenceKind, string> = {
  chat: '/v1/chat/completions',
  completion: '/v1/completions',
  embedding: '/v1/embeddings',
};
const tracer = trace.getTracer('control-plane-gateway');

/** The largest non-streamed upstream answer the gateway reads (embeddings of big batches). */
const MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024;

/** How one forwarded request ended. */
interface Outcome {
  status: number;
  /** Usage the upstream reported (or, for a stream the client left, what was delivered). */
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
  /** Whether the model did work the tenant pays for (any output reached the client). */
  served: boolean;
  ttfbMs: number | null;
  error?: string;
  /**
   * The replica could not be reached (no connection was made, so nothing was sent and nothing
   * answered): the error for the client, unless another replica takes the request.
   */
  unreached?: OpenAiError;
}

/** The most replicas one request is sent to, each tried only when the last could not be reached. */
const MAX_REPLICAS_TRIED = 3;

/**
 * The data plane (issue 9): authenticates a tenant key, reads the request, picks a ready replica
 * of the tenant's endpoint for the model, reserves the estimated usage, forwards the request
 * (streams chunk by chunk), then commits the actual usage from the upstream's `usage` (requested
 * for streams with `stream_options.include_usage`, and removed from what the client sees unless
 * it asked for it) and records a latency sample. A request is sent to another ready replica only
 * when no connection to the first could be made (refused, unreachable, connect timeout: nothing
 * was sent), up to {@link MAX_REPLICAS_TRIED} replicas; nothing that may have been executed is
 * retried. A client that goes away aborts the upstream request.
 */
@Injectable()
export class InferenceService implements OnModuleDestroy {
  private readonly logger = new Logger('Inference');
  /**
   * Keep-alive connections to the replicas. An idle one is closed after 4 s, before the replica
   * would close it (Node's and uvicorn's keep-alive timeout is 5 s): a request sent on a
   * connection the server is closing fails with a reset, and is not retried (it may have run).
   */
  private readonly agent = Object.assign(
    new Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 }),
    // Its requests get the client span made in forward(), not the HTTP instrumentation's.
    { [TRACED_BY_CALLER]: true },
  );

  constructor(
    private readonly keys: GatewayKeys,
    private readonly routes: EndpointRoutes,
    private readonly quota: GatewayQuota,
    private readonly recorder: UsageRecorder,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onModuleDestroy(): void {
    this.agent.destroy();
  }

  /**
   * `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings`: answers `res` (OpenAI
   * shapes; errors as `{"error": {...}}`) and records the request. Never throws.
   *
   * @param body the parsed JSON body (checked here: 400 on a bad one)
   * @param requestId sent upstream as `X-Request-Id`
   */
  async handle(
    kind: InferenceKind,
    body: unknown,
    requestId: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const startedAt = new Date();
    const started = performance.now();
    let caller: InferenceCaller | undefined;
    let route: Route | undefined;
    let request: InferenceRequest | undefined;
    let holds: Holds | undefined;
    let limitHeaders: Record<string, string> = {};
    try {
      caller = await this.keys.authenticate(req);
      request = readInferenceRequest(kind, body, this.config.GATEWAY_DEFAULT_MAX_TOKENS);
      route = await this.routes.route(caller.tenantId, request.model);
      request = fitToContext(request, route.contextLength);
      ({ holds, headers: limitHeaders } = await this.quota.reserve(
        caller.tenantId,
        {
          input_tokens: request.promptTokens,
          output_tokens: request.maxTokens,
          total_tokens: request.promptTokens + request.maxTokens,
          requests: 1,
        },
        { id: caller.keyId, rateLimits: caller.rateLimits },
      ));
    } catch (error) {
      sendOpenAiError(res, asOpenAiError(error, this.logger));
      return;
    }
    for (const [name, value] of Object.entries(limitHeaders)) res.setHeader(name, value);
    let outcome = await this.forward(route, request, requestId, res, started);
    for (const tried = [route.replicaUrl]; outcome.unreached && !res.destroyed;) {
      this.routes.unreachable(caller.tenantId, route.replicaUrl);
      const next =
        tried.length < MAX_REPLICAS_TRIED
          ? await this.alternative(caller.tenantId, request.model, tried)
          : undefined;
      if (!next) break;
      route = next;
      tried.push(next.replicaUrl);
      outcome = await this.forward(route, request, requestId, res, started);
    }
    if (outcome.unreached) {
      if (res.destroyed) outcome = { ...outcome, status: 499, error: 'client_closed' };
      else sendOpenAiError(res, outcome.unreached);
    }
    if (outcome.served) {
      const prompt = outcome.usage?.prompt_tokens ?? request.promptTokens;
      const completion = outcome.usage?.completion_tokens ?? 0;
      const usage: InferenceUsage = {
        input_tokens: prompt,
        output_tokens: completion,
        total_tokens: outcome.usage?.total_tokens ?? prompt + completion,
        requests: 1,
      };
      this.recorder.commit({
        holds,
        usage,
        endpointId: route.endpointId,
        apiKeyId: caller.keyId,
        model: request.model,
      });
    } else {
      this.quota.release(holds);
    }
    this.recorder.sample({
      tenantId: caller.tenantId,
      endpointId: route.endpointId,
      apiKeyId: caller.keyId,
      kind,
      startedAt,
      status: outcome.status,
      ttfbMs: outcome.ttfbMs,
      totalMs: Math.round(performance.now() - started),
      promptTokens: outcome.usage?.prompt_tokens ?? 0,
      completionTokens: outcome.usage?.completion_tokens ?? 0,
      error: outcome.error ?? null,
    });
  }

  /**
   * Another ready replica for a request whose replica could not be reached, or undefined: also
   * when the routes cannot be read (the cache expired and PostgreSQL failed), so the client is
   * answered and the holds released rather than the request left hanging.
   */
  private async alternative(
    tenantId: string,
    model: string,
    tried: readonly string[],
  ): Promise<Route | undefined> {
    try {
      return await this.routes.alternative(tenantId, model, tried);
    } catch (error) {
      this.logger.warn({ err: error }, 'reading the routes for another replica failed');
      return undefined;
    }
  }

  /**
   * Sends the request to the replica and relays the answer; resolves when it is over. Sends
   * nothing when the client has already gone (while the request was authenticated, reserved or
   * routed to another replica): its 'close' came before this request could listen for it.
   */
  private forward(
    route: Route,
    request: InferenceRequest,
    requestId: string,
    res: ServerResponse,
    started: number,
  ): Promise<Outcome> {
    if (res.destroyed) {
      return Promise.resolve({ status: 499, served: false, ttfbMs: null, error: 'client_closed' });
    }
    // The replica gets exactly the completion budget that was reserved (whichever of
    // max_tokens / max_completion_tokens the client sent, or the default), so it cannot
    // generate more than the quota holds.
    const { max_tokens: _max, max_completion_tokens: _maxCompletion, ...rest } = request.body;
    const budget =
      request.kind === 'chat'
        ? { max_tokens: request.maxTokens, max_completion_tokens: request.maxTokens }
        : request.kind === 'completion'
          ? { max_tokens: request.maxTokens }
          : {};
    const body = JSON.stringify({
      ...rest,
      ...budget,
      ...(request.stream ? { stream_options: { include_usage: true } } : {}),
    });
    const url = `${route.replicaUrl}${PATHS[request.kind]}`;
    // The upstream request's client span (OpenTelemetry HTTP semantic conventions), a child of
    // the request's server span; the replica continues the trace from the headers.
    const span = tracer.startSpan('POST', {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'POST',
        'url.full': url,
        'server.address': route.replicaAddress,
        'server.port': route.replicaPort,
      },
    });
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
      // The endpoint the gateway means: a local replica serving another answers 421 (its port
      // was reused after the one in the route died) and the request goes elsewhere.
      'x-endpoint-id': route.endpointId,
    };
    propagation.inject(trace.setSpan(context.active(), span), headers);
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let ttfbMs: number | null = null;
      const timers: NodeJS.Timeout[] = [];
      const finish = (outcome: Omit<Outcome, 'ttfbMs'>) => {
        if (settled) return;
        settled = true;
        timers.forEach(clearTimeout);
        // A client span's error: the replica's 4xx and 5xx, a timeout, a failure, a cut stream.
        if (outcome.error) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
        span.end();
        resolve({ ...outcome, ttfbMs });
      };
      /** `usage`: what the client is billed for, counted only if the answer is not over yet. */
      const fail = (error: OpenAiError, served = false, usage?: () => Outcome['usage']) => {
        upstream.destroy();
        // Over already (a stream answered in full before the replica's connection broke).
        if (settled) return;
        if (!res.headersSent) sendOpenAiError(res, error);
        else {
          // Mid-stream: an error event (as OpenAI's streams carry them), so the client can tell
          // the answer was cut off, then the end.
          const { message, type, code } = error;
          res.end(`data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`);
        }
        finish({
          status: error.status,
          served,
          usage: usage?.(),
          error: error.code ?? error.message,
        });
      };
      const firstByte = () => {
        if (ttfbMs === null) ttfbMs = Math.round(performance.now() - started);
      };

      /** Nothing was sent: the client is answered by the caller, or by another replica. */
      const unreached = (error: OpenAiError) => {
        // Absent when Node could not even make the request.
        upstream?.destroy();
        finish({
          status: error.status,
          served: false,
          error: error.code ?? error.message,
          unreached: error,
        });
      };

      let upstream: ClientRequest;
      try {
        upstream = httpRequest(url, { method: 'POST', agent: this.agent, headers });
      } catch (error) {
        // An address Node cannot use (a replica stored with a malformed URL): nothing was sent.
        return unreached(unreachableError((error as Error).message));
      }
      // Until a connection is made (a kept-alive one is made already), a failure means the
      // replica never saw the request.
      let connected = false;
      // The first-byte clock runs from the connection (connecting has its own timeout, after
      // which another replica may take the request): a first-byte timeout shorter than the
      // connect timeout cannot turn a request that was never sent into a 504 not retried.
      const onConnected = () => {
        connected = true;
        if (settled) return;
        timers.push(
          setTimeout(
            () =>
              fail(
                upstreamError(504, 'the model replica did not answer in time', 'upstream_timeout'),
              ),
            this.config.GATEWAY_FIRST_BYTE_TIMEOUT_MS,
          ),
        );
      };
      upstream.on('socket', (socket) => {
        if (!socket.connecting) return onConnected();
        const connect = setTimeout(
          () =>
            unreached(
              upstreamError(
                504,
                'connecting to the model replica timed out',
                'upstream_connect_timeout',
              ),
            ),
          this.config.GATEWAY_CONNECT_TIMEOUT_MS,
        );
        timers.push(connect);
        socket.once('connect', () => {
          clearTimeout(connect);
          onConnected();
        });
      });
      upstream.on('error', (error) => {
        if (settled) return;
        if (!connected) {
          return unreached(unreachableError(error.message));
        }
        fail(upstreamError(502, `the model replica failed: ${error.message}`, 'upstream_error'));
      });
      // The client left: stop the model's work.
      res.on('close', () => {
        if (!settled && !res.writableFinished) {
          upstream.destroy();
          finish({
            status: 499,
            served: delivered.any || usageSeen !== undefined,
            usage: usageSeen ?? deliveredUsage(),
            error: 'client_closed',
          });
        }
      });

      let usageSeen: Outcome['usage'];
      const delivered = new Delivered();
      const deliveredUsage = (): Outcome['usage'] => {
        const completion = countTokens(delivered.text());
        return {
          prompt_tokens: request.promptTokens,
          completion_tokens: completion,
          total_tokens: request.promptTokens + completion,
        };
      };

      upstream.on('response', (answer: IncomingMessage) => {
        timers.forEach(clearTimeout);
        if (answer.statusCode === 421) {
          // Misdirected (RFC 9110 §15.5.20): the process at that address is not the endpoint's
          // replica and did nothing with the request.
          return unreached(unreachableError('another process answers at its address'));
        }
        answer.setTimeout(this.config.GATEWAY_IDLE_TIMEOUT_MS, () =>
          fail(
            upstreamError(504, 'the model replica went silent', 'upstream_idle_timeout'),
            delivered.any,
            deliveredUsage,
          ),
        );
        const status = answer.statusCode ?? 502;
        span.setAttribute('http.response.status_code', status);
        const streaming =
          request.stream &&
          status === 200 &&
          String(answer.headers['content-type'] ?? '').startsWith('text/event-stream');
        if (!streaming) {
          const chunks: Buffer[] = [];
          let size = 0;
          answer.on('data', (chunk: Buffer) => {
            firstByte();
            size += chunk.length;
            if (size > MAX_UPSTREAM_BODY_BYTES) {
              fail(upstreamError(502, 'the model replica answered too much', 'upstream_too_large'));
              return;
            }
            chunks.push(chunk);
          });
          answer.on('end', () => {
            if (settled) return;
            const text = Buffer.concat(chunks);
            let usage: Outcome['usage'];
            try {
              usage = (JSON.parse(text.toString('utf8')) as { usage?: Outcome['usage'] }).usage;
            } catch {
              usage = undefined;
            }
            res.statusCode = status;
            res.setHeader('content-type', answer.headers['content-type'] ?? 'application/json');
            res.end(text);
            const ok = status < 400;
            finish({
              status,
              served: ok,
              usage: ok ? usage : undefined,
              error: ok ? undefined : `upstream_${status}`,
            });
          });
          answer.on('error', () =>
            fail(upstreamError(502, 'the model replica broke off its answer', 'upstream_error')),
          );
          return;
        }
        res.statusCode = 200;
        res.setHeader('content-type', 'text/event-stream; charset=utf-8');
        res.setHeader('cache-control', 'no-cache');
        res.setHeader('connection', 'keep-alive');
        // The headers leave with the first events, in one write (Node.js sends what a turn of
        // the event loop writes in one go); on their own, a turn later, when no event came with
        // the replica's headers (a long prompt still being read).
        setImmediate(() => {
          if (!res.headersSent && !res.writableEnded && !res.destroyed) res.flushHeaders();
        });
        const complete = () => {
          res.end();
          finish({ status: 200, served: true, usage: usageSeen ?? deliveredUsage() });
        };
        let pending = '';
        // The last event ended with the last character read, a CR: the LF that may start the
        // next read completes its CRLF, relayed only if the event was (not when it was kept from
        // the client or rewritten).
        let endedInCr = false;
        let relayedAsItCame = false;
        const seeUsage = (usage: NonNullable<Outcome['usage']>) => (usageSeen = usage);
        answer.setEncoding('utf8');
        answer.on('data', (text: string) => {
          firstByte();
          if (settled) {
            // Events after [DONE] (or after the answer was cut): a replica that would go on
            // sending would hold its connection; not kept for another request.
            upstream.destroy();
            return;
          }
          if (endedInCr && text.startsWith('\n')) {
            if (relayedAsItCame) res.write('\n');
            text = text.slice(1);
          }
          endedInCr = false;
          pending += text;
          let end: RegExpExecArray | null;
          while ((end = EVENT_END.exec(pending))) {
            const event = pending.slice(0, end.index + end[0].length);
            pending = pending.slice(end.index + end[0].length);
            relayedAsItCame = this.relayEvent(event, request, res, delivered, seeUsage);
            endedInCr = pending === '' && event.endsWith('\r');
            // The stream's last event (OpenAI API reference, streaming): the answer is over for
            // the client, in the same write as the last events, without waiting for the
            // replica's end of message; anything after it is not relayed.
            if (dataOf(event) === '[DONE]') return complete();
          }
        });
        answer.on('end', () => {
          if (settled) return;
          if (pending.trim()) res.write(pending);
          complete();
        });
        answer.on('error', () =>
          fail(
            upstreamError(502, 'the model replica broke off its stream', 'upstream_error'),
            delivered.any,
            deliveredUsage,
          ),
        );
      });
      upstream.end(body);
    });
  }

  /**
   * Relays one server-sent event. Only a chunk that carries usage is parsed (to count it, and
   * to keep the usage-only final chunk, requested by the gateway, from clients that did not ask
   * for it); the others are relayed as they came and kept as text in case the stream is cut.
   * @returns whether the event was relayed as it came (not kept from the client or rewritten)
   */
  private relayEvent(
    event: string,
    request: InferenceRequest,
    res: ServerResponse,
    delivered: Delivered,
    onUsage: (usage: NonNullable<Outcome['usage']>) => void,
  ): boolean {
    const data = dataOf(event);
    if (data && data !== '[DONE]') {
      delivered.add(data);
      if (USAGE.test(data)) {
        try {
          const chunk = JSON.parse(data) as StreamChunk;
          if (chunk.usage) onUsage(chunk.usage);
          if (chunk.usage && (chunk.choices?.length ?? 0) === 0 && !request.includeUsage) {
            return false;
          }
          if (chunk.usage && !request.includeUsage) {
            res.write(`data: ${JSON.stringify({ ...chunk, usage: null })}\n\n`);
            return false;
          }
        } catch {
          // Not JSON: relay as is.
        }
      }
    }
    res.write(event);
    return true;
  }
}

/** A chat or completion chunk of a stream, as far as the gateway reads it. */
interface StreamChunk {
  usage?: NonNullable<Outcome['usage']> | null;
  choices?: { delta?: { content?: string | null }; text?: string | null }[];
}

/**
 * The data of an event that is one `data` line (what OpenAI-compatible servers send), trimmed;
 * undefined for anything else. The space after the colon is optional (HTML Living Standard,
 * server-sent events: "If value starts with a U+0020 SPACE character, remove it").
 */
function dataOf(event: string): string | undefined {
  return event.startsWith('data:') ? event.slice(5).trim() : undefined;
}
/**
 * The blank line that ends a server-sent event: two line ends in a row, each CRLF, LF or a lone
 * CR (HTML Living Standard, server-sent events, "end-of-line"); looking for LF LF alone, a
 * replica's CRLF or CR stream would be held back whole until its end, its usage chunk neither
 * read nor kept from the client. A CR that ends what has arrived ends its line; an LF that
 * starts the next read then belongs to it (the relay passes it on as it came).
 */
const EVENT_END = /(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)/;
/** A chunk with a usage object (not `"usage": null`, which every chunk of such a stream has). */
const USAGE = /"usage"\s*:\s*\{/;
/** A chunk with generated text: non-empty `delta.content` (chat) or `text` (completions). */
const CONTENT = /"(?:content|text)"\s*:\s*"[^"]/;

/**
 * What a relayed stream delivered: the chunks with generated text, kept as the JSON text they
 * came in and read only when the stream does not end with the upstream's usage (the client
 * left, or the replica broke off) and the delivered tokens must be counted.
 */
class Delivered {
  private readonly chunks: string[] = [];

  /** Whether any chunk carried generated text (the model did work the tenant pays for). */
  get any(): boolean {
    return this.chunks.length > 0;
  }

  add(data: string): void {
    if (CONTENT.test(data)) this.chunks.push(data);
  }

  /** The generated text delivered so far, in order. */
  text(): string {
    const pieces: string[] = [];
    for (const data of this.chunks) {
      try {
        for (const choice of (JSON.parse(data) as StreamChunk).choices ?? []) {
          const piece = choice.delta?.content ?? choice.text;
          if (piece) pieces.push(piece);
        }
      } catch {
        // Not JSON: nothing to count.
      }
    }
    return pieces.join('');
  }
}

function upstreamError(status: number, message: string, code: string): OpenAiError {
  return new OpenAiError(status, `Upstream error: ${message}.`, 'server_error', code);
}

/** 502 `upstream_unreachable`: the replica never saw the request (another one may take it). */
function unreachableError(reason: string): OpenAiError {
  return upstreamError(
    502,
    `the model replica could not be reached: ${reason}`,
    'upstream_unreachable',
  );
}

function asOpenAiError(error: unknown, logger: Logger): OpenAiError {
  if (error instanceof OpenAiError) return error;
  logger.error({ err: error }, 'inference request failed');
  return new OpenAiError(
    500,
    'The gateway failed to handle the request.',
    'server_error',
    'internal_error',
  );
}
