import { AppConfig } from '@app/core';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  createServer,
  IncomingHttpHeaders,
  request as httpRequest,
  Server,
  ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { readInferenceRequest } from './inference-request';
import { InferenceService } from './inference.service';

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

/** The gateway's timeouts in these tests. */
const timeouts = {
  GATEWAY_CONNECT_TIMEOUT_MS: 2000,
  GATEWAY_FIRST_BYTE_TIMEOUT_MS: 5000,
  GATEWAY_IDLE_TIMEOUT_MS: 5000,
} as AppConfig;

/** An InferenceService for forward() alone (its other collaborators are never reached). */
const forwardingService = () =>
  new InferenceService({} as never, {} as never, {} as never, {} as never, timeouts);

/** The route of a replica listening on the loopback `port`. */
const routeTo = (port: number) => ({
  endpointId: 'e',
  replicaUrl: `http://127.0.0.1:${port}`,
  replicaAddress: '127.0.0.1',
  replicaPort: port,
  contextLength: 0,
});

/**
 * The upstream request's client span, which the gateway makes itself (its agent is left alone by
 * the HTTP instrumentation): a child of the request's span, carried to the replica in
 * `traceparent`, with the HTTP client attributes and an error status for a failed answer.
 */
describe('InferenceService: the upstream client span', () => {
  const exporter = new InMemorySpanExporter();
  let replica: Server;
  let replicaPort: number;
  let status = 200;
  let received: IncomingHttpHeaders = {};
  const service = forwardingService();

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    replica = createServer((req, res) => {
      received = req.headers;
      req.resume().on('end', () => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ usage: { prompt_tokens: 3, completion_tokens: 1 } }));
      });
    });
    replicaPort = await listen(replica);
  });
  afterAll(async () => {
    service.onModuleDestroy();
    await close(replica);
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  /** One request forwarded inside a server span, as InferenceHttp runs it. */
  async function forwardOnce() {
    const serverSpan = trace.getTracer('spec').startSpan('POST /v1/chat/completions', {
      kind: SpanKind.SERVER,
    });
    const front = createServer((_, res) => {
      const request = readInferenceRequest(
        'chat',
        { model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 },
        16,
      );
      void context.with(trace.setSpan(ROOT_CONTEXT, serverSpan), () =>
        service['forward'](routeTo(replicaPort), request, 'req-1', res, performance.now()),
      );
    });
    const port = await listen(front);
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' });
      await answer.text();
    } finally {
      serverSpan.end();
      await close(front);
    }
    const client = exporter.getFinishedSpans().find((span) => span.kind === SpanKind.CLIENT)!;
    return { serverSpan, client };
  }

  it("is a child of the request's span, sent to the replica in traceparent", async () => {
    status = 200;
    const { serverSpan, client } = await forwardOnce();
    const { traceId, spanId } = serverSpan.spanContext();
    expect(client).toBeDefined();
    expect(client.spanContext().traceId).toBe(traceId);
    expect(client.parentSpanContext?.spanId).toBe(spanId);
    expect(received.traceparent).toBe(`00-${traceId}-${client.spanContext().spanId}-01`);
    expect(received['x-request-id']).toBe('req-1');
    expect(client.name).toBe('POST');
    expect(client.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.full': `http://127.0.0.1:${replicaPort}/v1/chat/completions`,
      'server.address': '127.0.0.1',
      'server.port': replicaPort,
      'http.response.status_code': 200,
    });
    expect(client.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("marks the span an error when the replica's answer is", async () => {
    status = 500;
    const { client } = await forwardOnce();
    expect(client.attributes['http.response.status_code']).toBe(500);
    expect(client.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'upstream_500' });
  });
});

/**
 * A relayed stream: the client's answer ends with the replica's `data: [DONE]` event (OpenAI API
 * reference, streaming), in the same write as the last events, and its headers leave without
 * waiting for a slow first event.
 */
describe('InferenceService: relaying a stream', () => {
  /** What the scripted replica does with its answer, once its headers are out. */
  let script: (res: ServerResponse) => void = () => undefined;
  let replica: Server;
  let replicaPort: number;
  const service = forwardingService();
  const chunk = (content: string) =>
    `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }], usage: null })}\n\n`;
  const usageChunk = `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}\n\n`;

  beforeAll(async () => {
    replica = createServer((req, res) => {
      req.resume().on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
        res.flushHeaders();
        script(res);
      });
    });
    replicaPort = await listen(replica);
  });
  afterAll(async () => {
    service.onModuleDestroy();
    replica.closeAllConnections();
    await close(replica);
  });

  /**
   * One streamed request through forward(): what the client saw (when its headers came, each
   * piece of body and when, when it ended) and the outcome forward() resolved to.
   */
  async function streamOnce() {
    let outcome: Promise<unknown> = Promise.resolve();
    const front = createServer((_, res) => {
      const request = readInferenceRequest(
        'chat',
        { model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, stream: true },
        16,
      );
      outcome = service['forward'](routeTo(replicaPort), request, 'req-1', res, performance.now());
    });
    const port = await listen(front);
    const started = performance.now();
    try {
      const seen = await new Promise<{
        headersMs: number;
        body: string;
        endMs: number;
        firstDataMs: number;
      }>((resolve, reject) => {
        httpRequest(`http://127.0.0.1:${port}/`, { method: 'POST' }, (res) => {
          const headersMs = performance.now() - started;
          let body = '';
          let firstDataMs = NaN;
          res.setEncoding('utf8');
          res.on('data', (piece: string) => {
            if (!body) firstDataMs = performance.now() - started;
            body += piece;
          });
          res.on('end', () =>
            resolve({ headersMs, body, endMs: performance.now() - started, firstDataMs }),
          );
        })
          .on('error', reject)
          .end();
      });
      return { ...seen, outcome: await outcome };
    } finally {
      front.closeAllConnections();
      await close(front);
    }
  }

  it('sends the headers at once when the first event is slow to come', async () => {
    script = (res) => {
      setTimeout(() => res.end(chunk('Hi') + usageChunk + 'data: [DONE]\n\n'), 600);
    };
    const seen = await streamOnce();
    // Held until the first event, the headers would come with it.
    expect(seen.firstDataMs - seen.headersMs).toBeGreaterThan(300);
    expect(seen.body).toBe(`${chunk('Hi')}data: [DONE]\n\n`);
    expect(seen.outcome).toMatchObject({ status: 200, served: true, usage: { total_tokens: 5 } });
  });

  it('ends the answer at [DONE] without waiting for the replica to end its message', async () => {
    // The replica keeps its message open for 3 s after [DONE] (and would then add an event).
    script = (res) => {
      res.write(chunk('Hi') + chunk(' there') + usageChunk + 'data: [DONE]\n\n');
      setTimeout(() => res.end(chunk(' late')), 3000).unref();
    };
    const seen = await streamOnce();
    expect(seen.endMs).toBeLessThan(1500);
    expect(seen.body).toBe(`${chunk('Hi')}${chunk(' there')}data: [DONE]\n\n`);
    expect(seen.outcome).toMatchObject({ status: 200, served: true, usage: { total_tokens: 5 } });
  });

  it('relays nothing after [DONE], and a replica that breaks off after it changes nothing', async () => {
    script = (res) => {
      res.write(chunk('Hi') + usageChunk + 'data: [DONE]\n\n' + chunk(' extra'));
      setTimeout(() => res.socket?.destroy(), 50);
    };
    const seen = await streamOnce();
    expect(seen.body).toBe(`${chunk('Hi')}data: [DONE]\n\n`);
    expect(seen.outcome).toMatchObject({ status: 200, served: true, usage: { total_tokens: 5 } });
    // Still serving (no write after the end, no unhandled error).
    script = (res) => res.end(chunk('Ok') + usageChunk + 'data: [DONE]\n\n');
    expect((await streamOnce()).body).toBe(`${chunk('Ok')}data: [DONE]\n\n`);
  });

  it('drops the connection of a replica that goes on sending after [DONE]', async () => {
    let closed!: Promise<void>;
    script = (res) => {
      closed = new Promise((resolve) => res.on('close', () => resolve()));
      res.write(chunk('Hi') + usageChunk + 'data: [DONE]\n\n');
      // Comments every 20 ms: the idle timeout alone would never end it.
      const timer = setInterval(() => res.write(': keep-alive\n\n'), 20);
      res.on('close', () => clearInterval(timer));
    };
    const seen = await streamOnce();
    expect(seen.body).toBe(`${chunk('Hi')}data: [DONE]\n\n`);
    const waiting = performance.now();
    await closed;
    expect(performance.now() - waiting).toBeLessThan(1000);
  });

  it('reads events whose lines end in CRLF (server-sent events allow it) as they come', async () => {
    const crlf = (text: string) => text.replace(/\n/g, '\r\n');
    script = (res) => {
      res.write(crlf(chunk('Hi') + usageChunk + 'data: [DONE]\n\n'));
      setTimeout(() => res.end(), 3000).unref();
    };
    const seen = await streamOnce();
    expect(seen.endMs).toBeLessThan(1500);
    // The usage chunk the client did not ask for is kept from it, and counted.
    expect(seen.body).toBe(crlf(`${chunk('Hi')}data: [DONE]\n\n`));
    expect(seen.outcome).toMatchObject({ status: 200, served: true, usage: { total_tokens: 5 } });
  });

  it('reads events whose lines end in a lone CR, and a CRLF split between two reads', async () => {
    const cr = (text: string) => text.replace(/\n/g, '\r');
    const crlf = (text: string) => text.replace(/\n/g, '\r\n');
    script = (res) => {
      res.write(cr(chunk('Hi')));
      // The blank line's CR in one read, its LF in the next: one event end, not two.
      const split = crlf(chunk(' there'));
      setTimeout(() => res.write(split.slice(0, -1)), 20);
      setTimeout(() => res.write(split.slice(-1) + cr(usageChunk + 'data: [DONE]\n\n')), 60);
      setTimeout(() => res.end(), 3000).unref();
    };
    const seen = await streamOnce();
    expect(seen.endMs).toBeLessThan(1500);
    expect(seen.body).toBe(cr(chunk('Hi')) + crlf(chunk(' there')) + cr('data: [DONE]\n\n'));
    expect(seen.outcome).toMatchObject({ status: 200, served: true, usage: { total_tokens: 5 } });
  });

  it('reads data lines without the space after the colon (server-sent events allow it)', async () => {
    const tight = (text: string) => text.replace(/^data: /gm, 'data:');
    script = (res) => {
      res.write(tight(chunk('Hi') + usageChunk + 'data: [DONE]\n\n'));
      setTimeout(() => res.end(), 3000).unref();
    };
    const seen = await streamOnce();
    expect(seen.endMs).toBeLessThan(1500);
    expect(seen.body).toBe(tight(`${chunk('Hi')}data: [DONE]\n\n`));
    expect(seen.outcome).toMatchObject({ status: 200, served: true, usage: { total_tokens: 5 } });
  });

  it.each([
    ['CRLF', (text: string) => text.replace(/\n/g, '\r\n')],
    ['CR', (text: string) => text.replace(/\n/g, '\r')],
  ])(
    'relays a stream whose lines end in %s alike wherever its reads split it',
    async (_, ending) => {
      const stream = ending(chunk('Hi') + chunk(' there') + usageChunk + 'data: [DONE]\n\n');
      const expected = ending(chunk('Hi') + chunk(' there') + 'data: [DONE]\n\n');
      const wrong: string[] = [];
      for (let at = 1; at < stream.length; at += 1) {
        // Two reads, split at `at`; an event after [DONE] that must not be relayed.
        script = (res) => {
          res.write(stream.slice(0, at));
          setTimeout(() => res.write(stream.slice(at) + ending(chunk(' late'))), 5);
          setTimeout(() => res.end(), 3000).unref();
        };
        const seen = await streamOnce();
        // The LF of the last CRLF stays behind when its CR ended a read: [DONE] has ended.
        if (seen.body.replace(/\n$/, '') !== expected.replace(/\n$/, '')) {
          wrong.push(`split at ${at}: ${JSON.stringify(seen.body)}`);
        }
        if ((seen.outcome as { usage?: { total_tokens?: number } }).usage?.total_tokens !== 5) {
          wrong.push(`split at ${at}: usage not counted`);
        }
      }
      expect(wrong).toEqual([]);
    },
  );
});

/**
 * A request whose replica could not be connected to goes to another ready replica; nothing is
 * sent once the client has gone, and its holds are settled exactly once whatever happens.
 */
describe('InferenceService: a replica that cannot be reached', () => {
  let live: Server;
  let livePort: number;
  let deadPort: number;
  let received = 0;
  const holds = { requests: 'hold-1' };
  const quota = {
    reserve: jest.fn(async (..._args: unknown[]) => ({ holds, headers: {} })),
    release: jest.fn(),
  };
  const recorder = { commit: jest.fn(), sample: jest.fn() };
  const routes = {
    route: jest.fn(async (..._args: unknown[]) => routeTo(deadPort)),
    unreachable: jest.fn(),
    alternative: jest.fn(async (..._args: unknown[]) => routeTo(livePort) as unknown),
  };
  const keys = { authenticate: async () => ({ keyId: 'k', tenantId: 't', rateLimits: null }) };
  const service = new InferenceService(
    keys as never,
    routes as never,
    quota as never,
    recorder as never,
    timeouts,
  );

  beforeAll(async () => {
    live = createServer((req, res) => {
      received += 1;
      req.resume().on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ usage: { prompt_tokens: 3, completion_tokens: 1 } }));
      });
    });
    livePort = await listen(live);
    // A port nothing listens on: connections to it are refused.
    const gone = createServer();
    deadPort = await listen(gone);
    await close(gone);
  });
  afterAll(async () => {
    service.onModuleDestroy();
    await close(live);
  });
  beforeEach(() => {
    jest.clearAllMocks();
    received = 0;
  });

  /**
   * One chat request through handle(); `leave` makes the client go away when it resolves (the
   * collaborators' stubs decide when). What the client saw, and how handle() ended.
   */
  async function ask(leave?: Promise<unknown>) {
    let handled: Promise<unknown> = Promise.resolve();
    const front = createServer((req, res) => {
      const body = { model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 };
      handled = service.handle('chat', body, 'req-1', req, res).then(
        () => 'resolved',
        (error: unknown) => `rejected: ${String(error)}`,
      );
    });
    const port = await listen(front);
    const abort = new AbortController();
    void leave?.then(() => abort.abort());
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(3000)]),
      }).then(
        async (res) => ({ status: res.status, body: (await res.json()) as { error?: unknown } }),
        (error: Error) => ({ status: 0, body: { error: error.name } }),
      );
      return { answer, handled: await handled };
    } finally {
      front.closeAllConnections();
      await close(front);
    }
  }

  it('sends a request whose replica refuses the connection to another, billed once', async () => {
    const seen = await ask();
    expect(seen.answer.status).toBe(200);
    expect(received).toBe(1);
    expect(routes.unreachable).toHaveBeenCalledWith('t', `http://127.0.0.1:${deadPort}`);
    expect(recorder.commit).toHaveBeenCalledTimes(1);
    expect(quota.release).not.toHaveBeenCalled();
  });

  it('sends a request that the process at the address refuses as misdirected (421) to another', async () => {
    // Another endpoint's replica now listening where the routed one was (a reused port).
    let misdirected = 0;
    let endpointSent: string | undefined;
    const other = createServer((req, res) => {
      misdirected += 1;
      endpointSent = req.headers['x-endpoint-id'] as string;
      res.writeHead(421, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: { code: 'misdirected_request' } }));
    });
    const otherPort = await listen(other);
    try {
      routes.route.mockImplementationOnce(async () => routeTo(otherPort));
      const seen = await ask();
      expect(seen.answer.status).toBe(200);
      expect(endpointSent).toBe('e');
      expect([misdirected, received]).toEqual([1, 1]);
      expect(routes.unreachable).toHaveBeenCalledWith('t', `http://127.0.0.1:${otherPort}`);
      expect(recorder.commit).toHaveBeenCalledTimes(1);
      expect(quota.release).not.toHaveBeenCalled();
    } finally {
      await close(other);
    }
  });

  it('answers 502 for a replica address Node cannot use, releasing the holds, when no other can serve', async () => {
    routes.route.mockImplementationOnce(async () => ({ ...routeTo(0), replicaUrl: 'http://[bad' }));
    routes.alternative.mockResolvedValueOnce(undefined);
    const seen = await ask();
    expect(seen.handled).toBe('resolved');
    expect(seen.answer).toMatchObject({
      status: 502,
      body: { error: { code: 'upstream_unreachable' } },
    });
    expect(quota.release).toHaveBeenCalledTimes(1);
    expect(recorder.commit).not.toHaveBeenCalled();
  });

  it('answers 502 and releases the holds when the routes cannot be read for another replica', async () => {
    routes.alternative.mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));
    const seen = await ask();
    expect(seen.handled).toBe('resolved');
    expect(seen.answer).toMatchObject({
      status: 502,
      body: { error: { code: 'upstream_unreachable', type: 'server_error' } },
    });
    expect(quota.release).toHaveBeenCalledTimes(1);
    expect(quota.release).toHaveBeenCalledWith(holds);
    expect(recorder.commit).not.toHaveBeenCalled();
  });

  /**
   * A collaborator's answer that comes 100 ms after the client was told to leave (`left`),
   * i.e. after the client has gone.
   */
  function afterTheClientLeft<T>(answer: T) {
    let leave!: () => void;
    const left = new Promise<void>((resolve) => (leave = resolve));
    const stub = async () => {
      leave();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return answer;
    };
    return { left, stub };
  }

  /** Nothing reached a replica; the holds were released once and nothing was billed. */
  function expectNothingSent(seen: Awaited<ReturnType<typeof ask>>) {
    expect(seen.handled).toBe('resolved');
    expect(received).toBe(0);
    expect(recorder.commit).not.toHaveBeenCalled();
    expect(quota.release).toHaveBeenCalledTimes(1);
    expect(recorder.sample).toHaveBeenCalledWith(expect.objectContaining({ status: 499 }));
  }

  it('sends nothing to another replica once the client has gone', async () => {
    // The routes are read again (the cache expired) while the client goes away.
    const { left, stub } = afterTheClientLeft(routeTo(livePort));
    routes.alternative.mockImplementationOnce(stub);
    expectNothingSent(await ask(left));
  });

  it('sends nothing upstream when the client went away while its usage was being reserved', async () => {
    const { left, stub } = afterTheClientLeft({ holds, headers: {} });
    routes.route.mockImplementationOnce(async () => routeTo(livePort));
    quota.reserve.mockImplementationOnce(stub);
    expectNothingSent(await ask(left));
  });
});
