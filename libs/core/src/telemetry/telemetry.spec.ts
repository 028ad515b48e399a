import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..', '..');

function runWithTelemetry(script: string, env: Record<string, string> = {}) {
  return spawnSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', '-e', script],
    {
      cwd: ROOT,
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
}

describe('startTelemetry', () => {
  it('makes real spans even without an exporter, so logs and jobs carry trace ids', () => {
    const result = runWithTelemetry(`
      const { startTelemetry, stopTelemetry } = require('./libs/core/src/telemetry/telemetry');
      startTelemetry('spec');
      const { trace, isSpanContextValid } = require('@opentelemetry/api');
      const span = trace.getTracer('spec').startSpan('probe');
      process.stdout.write(String(isSpanContextValid(span.spanContext())));
      span.end();
      stopTelemetry();
    `);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('true');
  });

  it('stops with one line, without echoing the value, on a bad OTLP endpoint', () => {
    const result = runWithTelemetry(
      `require('./libs/core/src/telemetry/telemetry').startTelemetry('spec');`,
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http//user:hunter2@collector:4318' },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: must be a URL starting with http:// or https://',
    ]);
  });

  it("leaves requests through an agent marked TRACED_BY_CALLER to their caller's own span", () => {
    // Inside a span, a request through a plain agent gets the instrumentation's client span (its
    // traceparent differs from the caller's); one through a marked agent carries only what its
    // caller injected (here: nothing).
    const result = runWithTelemetry(`
      const { startTelemetry, stopTelemetry, TRACED_BY_CALLER } = require('./libs/core/src/telemetry/telemetry');
      startTelemetry('spec');
      const http = require('node:http');
      const { context, trace } = require('@opentelemetry/api');
      const server = http.createServer((req, res) => res.end(req.headers.traceparent ?? 'none'));
      const get = (port, agent) => new Promise((resolve, reject) => {
        http.get({ port, path: '/', agent }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c)).on('end', () => resolve(body));
        }).on('error', reject);
      });
      server.listen(0, '127.0.0.1', async () => {
        const { port } = server.address();
        const span = trace.getTracer('spec').startSpan('caller');
        const marked = Object.assign(new http.Agent(), { [TRACED_BY_CALLER]: true });
        const [plain, own] = await context.with(trace.setSpan(context.active(), span), () =>
          Promise.all([get(port, new http.Agent()), get(port, marked)]));
        const { traceId } = span.spanContext();
        process.stdout.write(JSON.stringify({ plain: plain.split('-')[1] === traceId, own }));
        span.end();
        server.close();
        await stopTelemetry();
      });
    `);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ plain: true, own: 'none' });
  });
});
