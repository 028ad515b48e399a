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
});
