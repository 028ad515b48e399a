import { AppConfig, InjectConfig, MetricsService, REQUEST_ID_HEADER } from '@app/core';
import { Inject, Injectable } from '@nestjs/common';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { Params, PARAMS_PROVIDER_TOKEN } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import pino, { DestinationStream, Logger as Pino, LoggerOptions } from 'pino';
import type { InferenceKind } from './inference-request';
import { inferenceRoute } from './inference-routes';
import { InferenceService } from './inference.service';
import { invalidRequest, OpenAiError, sendOpenAiError } from './openai-error';

const tracer = trace.getTracer('control-plane-gateway');

/** A caller's request id is kept when it is short and plain (as core's requestIdMiddleware). */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A charset parameter other than UTF-8 (body-parser's JSON parser answers those 415). */
const FOREIGN_CHARSET = /;\s*charset\s*=\s*(?!"?utf-8"?\s*(;|$))/i;

/**
 * The data plane's hot path: `POST /v1/chat/completions`, `/v1/completions` and `/v1/embeddings`
 * served straight from `node:http`, ahead of Express and Nest, so an inference request pays for
 * what the gateway must do (auth, routing, quota, forwarding, metering) and not for a framework
 * pipeline built for the control plane (router layers, per-request CLS context and child logger,
 * interceptors, their OpenTelemetry spans).
 *
 * It keeps the contract of the Express stack it bypasses: `X-Request-Id` (the caller's when
 * acceptable, else a UUID; echoed), the `http_server_request_duration_seconds` histogram with
 * the route template, JSON bodies of any content type up to GATEWAY_MAX_BODY_BYTES (413
 * `request_too_large`; malformed JSON or a body that is not an object or array, 400
 * `invalid_json`; an empty body reads as `{}`), errors in OpenAI's shape, and pino's
 * `request completed` line (request id, method, URL, status, time, trace id) when `info` is
 * enabled. Requests it does not take go on to Express unchanged: other paths and methods, other
 * spellings of these paths (trailing slash, upper case), and bodies that need body-parser's
 * decoding (`Content-Encoding`, a charset other than UTF-8), which the same routes in
 * {@link InferenceController} serve.
 */
@Injectable()
export class InferenceHttp {
  private readonly maxBodyBytes: number;
  /** This app's logger (its options and destination; nestjs-pino's out-of-request one is per process). */
  private readonly log: Pino;

  constructor(
    private readonly inference: InferenceService,
    private readonly metrics: MetricsService,
    @Inject(PARAMS_PROVIDER_TOKEN) params: Params,
    @InjectConfig() config: AppConfig,
  ) {
    this.maxBodyBytes = config.GATEWAY_MAX_BODY_BYTES;
    const options = params.pinoHttp as [LoggerOptions, DestinationStream?] | LoggerOptions;
    this.log = Array.isArray(options)
      ? options[1]
        ? pino(options[0], options[1])
        : pino(options[0])
      : pino(options);
  }

  /**
   * Puts this handler in front of `server`'s request listeners (Express): requests it takes
   * never reach them.
   */
  install(server: Server): void {
    const listeners = server.listeners('request') as ((
      req: IncomingMessage,
      res: ServerResponse,
    ) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.take(req, res)) return;
      for (const listener of listeners) listener.call(server, req, res);
    });
  }

  /** Serves `req` when it is an inference request of its own; false to leave it to Express. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    const route = inferenceRoute(req.method, req.url);
    if (!route) return false;
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') return false;
    const type = req.headers['content-type'];
    if (type && FOREIGN_CHARSET.test(type)) return false;
    this.serve(route.kind, route.path, req, res);
    return true;
  }

  private serve(kind: InferenceKind, path: string, req: IncomingMessage, res: ServerResponse) {
    const started = performance.now();
    const offered = req.headers['x-request-id'];
    const requestId =
      typeof offered === 'string' && ACCEPTABLE_REQUEST_ID.test(offered) ? offered : randomUUID();
    (req as IncomingMessage & { id?: string }).id = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // The request's server span (the HTTP instrumentation leaves these routes to us, see
    // instrument.ts), continuing the caller's trace (W3C traceparent); the gateway's Redis and
    // PostgreSQL calls and the upstream request are its children, and the replica gets its
    // context.
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      `POST ${path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'POST', 'http.route': path, 'url.path': path },
      },
      parent,
    );
    const traced = trace.setSpan(parent, span);
    res.once('finish', () => this.finished(path, req, res, requestId, started, span));
    res.once('close', () => span.end());
    this.readBody(req, (error, body) => {
      if (error) return sendOpenAiError(res, error);
      void context.with(traced, () => this.inference.handle(kind, body, requestId, req, res));
    });
  }

  /** Metrics, span status and the access log line of a finished request. */
  private finished(
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    started: number,
    span: Span,
  ): void {
    const ms = performance.now() - started;
    const status = res.statusCode;
    this.metrics.httpRequestDuration.observe(
      { method: 'POST', route: path, status_code: String(status) },
      ms / 1000,
    );
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    if (!this.log.isLevelEnabled('info')) return;
    const { traceId, spanId } = span.spanContext();
    this.log.info(
      {
        requestId,
        traceId,
        spanId,
        req: { id: requestId, method: req.method, url: req.url, headers: req.headers },
        res: { statusCode: status },
        responseTime: Math.round(ms),
      },
      'request completed',
    );
  }

  /**
   * Reads and parses a JSON body of at most GATEWAY_MAX_BODY_BYTES (checked against
   * `Content-Length` first, then as it arrives). Calls back once, with an OpenAiError (413, 400)
   * or the parsed value; never when the client leaves first.
   */
  private readBody(
    req: IncomingMessage,
    done: (error: OpenAiError | undefined, body?: unknown) => void,
  ): void {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.maxBodyBytes) {
      req.resume();
      return done(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > this.maxBodyBytes) {
        over = true;
        chunks.length = 0;
        done(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
      const parsed = parseJson(text);
      if (parsed instanceof OpenAiError) done(parsed);
      else done(undefined, parsed.value);
    });
    // A client that leaves mid-body: nothing to answer (without a listener the error would throw).
    req.on('error', () => undefined);
  }
}

/**
 * JSON as body-parser's strict parser reads it: blank is `{}`, and only an object or an array
 * may be the top value. @returns the value, or OpenAiError 400 `invalid_json`
 */
function parseJson(text: string): { value: unknown } | OpenAiError {
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return { value: {} };
  if (first !== '{' && first !== '[') return invalidJson();
  try {
    return { value: JSON.parse(text) };
  } catch {
    return invalidJson();
  }
}

const tooLarge = () =>
  new OpenAiError(
    413,
    'The request body is too large.',
    'invalid_request_error',
    'request_too_large',
  );

const invalidJson = () =>
  invalidRequest('The request body is not valid JSON.', null, 'invalid_json');
