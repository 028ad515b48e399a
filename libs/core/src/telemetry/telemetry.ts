import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { IncomingMessage } from 'node:http';

let sdk: NodeSDK | undefined;

/**
 * Set on an `http.Agent` whose requests their caller traces itself (its own client span, the
 * trace context injected into the headers): the HTTP instrumentation leaves them alone. The
 * data plane does this for its upstream requests, where the generic client span (URL parsing,
 * attributes, every emitter wrapped to carry the context) costs more than the proxying.
 */
export const TRACED_BY_CALLER = Symbol.for('control-plane.traced-by-caller');

export interface TelemetryOptions {
  /**
   * PostgreSQL and Redis calls get spans only inside a trace (a request's, a job's), not from
   * background work such as a data plane's batched flushes, which would otherwise make a root
   * span per statement. Default false: every call is traced.
   */
  clientSpansNeedParent?: boolean;
  /**
   * Incoming requests the HTTP instrumentation leaves alone (besides `/health` and `/metrics`):
   * those whose handler makes its own server span. Inside them tracing is suppressed until that
   * handler makes its span current.
   */
  ignoreIncomingRequest?: (request: IncomingMessage) => boolean;
}

/**
 * Starts the OpenTelemetry NodeSDK. Must run before Nest, pg, ioredis or express are loaded
 * (each app's `instrument.ts` is its first import). Spans are always created, so trace ids reach
 * logs and jobs; they are exported over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
 *
 * Span attributes never carry SQL parameter values (pg's `enhancedDatabaseReporting` stays off)
 * nor Redis arguments (only the command name is recorded), so no secret or tenant data leaks
 * into traces.
 */
export function startTelemetry(
  defaultServiceName: string,
  env: NodeJS.ProcessEnv = process.env,
  options: TelemetryOptions = {},
): void {
  if (sdk) return;
  if (env.OTEL_LOG_LEVEL === 'debug') diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.DEBUG);
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  if (endpoint && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    // Runs before the configuration is validated, so it says the same one line and never echoes
    // the value (it may carry credentials).
    process.stderr.write(
      'Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: must be a URL starting with http:// or https://\n',
    );
    process.exit(1);
  }
  sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME || defaultServiceName,
    }),
    // Without an exporter, a no-op processor still makes the SDK register its tracer provider, so
    // spans (and their ids in logs and jobs) exist; they are just not sent anywhere.
    spanProcessors: endpoint
      ? [
          new BatchSpanProcessor(
            new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }),
          ),
        ]
      : [new NoopSpanProcessor()],
    // Metrics are served by prom-client at /metrics and logs go to stdout through pino; without
    // these empty lists the SDK would default to OTLP exporters for both and dial localhost:4318.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) =>
          /^\/(health|metrics)/.test(req.url ?? '') ||
          (options.ignoreIncomingRequest?.(req) ?? false),
        ignoreOutgoingRequestHook: (request) =>
          (request.agent as { [TRACED_BY_CALLER]?: boolean } | undefined)?.[TRACED_BY_CALLER] ===
          true,
      }),
      new ExpressInstrumentation(),
      new PgInstrumentation({
        enhancedDatabaseReporting: false,
        requireParentSpan: options.clientSpansNeedParent ?? false,
      }),
      new IORedisInstrumentation({
        dbStatementSerializer: (command) => command,
        requireParentSpan: options.clientSpansNeedParent ?? false,
      }),
    ],
  });
  sdk.start();
}

/** Flushes and stops the SDK; called last during graceful shutdown. */
export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}
