import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { HEARTBEAT_JOB, HEARTBEAT_QUEUE, withTraceContext } from '@app/core';
import { createTestApp, expectEventually, TestApp } from '@app/testing';
import { WORKER_HTTP_OPTIONS, WorkerModule } from '../../apps/worker/src/worker.module';

describe('worker', () => {
  const exporter = new InMemorySpanExporter();
  let t: TestApp;

  beforeAll(async () => {
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    t = await createTestApp(
      (config, options) => WorkerModule.register(config, options),
      WORKER_HTTP_OPTIONS,
      {
        env: { HEARTBEAT_INTERVAL_MS: '250' },
      },
    );
  });

  afterAll(async () => {
    await t.close();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it('processes heartbeats into PostgreSQL', async () => {
    const dataSource = t.app.get(DataSource);
    const row = await expectEventually(async () => {
      const [beat] = await dataSource.query(
        'SELECT beats, last_beat_at FROM worker_heartbeats WHERE pid = $1',
        [process.pid],
      );
      expect(Number(beat?.beats)).toBeGreaterThanOrEqual(2);
      return beat;
    });
    expect(new Date(row.last_beat_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("makes a job's span a child of the span that queued it", async () => {
    const queue = t.app.get<Queue>(getQueueToken(HEARTBEAT_QUEUE));
    const tracer = trace.getTracer('test');
    const { parentSpanId, traceId, jobId } = await tracer.startActiveSpan(
      'POST /v1/request-that-queues',
      async (span) => {
        const job = await queue.add(HEARTBEAT_JOB, withTraceContext({ scheduledBy: 'test' }));
        span.end();
        return {
          parentSpanId: span.spanContext().spanId,
          traceId: span.spanContext().traceId,
          jobId: job.id,
        };
      },
    );
    const consumer = await expectEventually(() => {
      const span = exporter
        .getFinishedSpans()
        .find(
          (s) =>
            s.name === `${HEARTBEAT_QUEUE} process` &&
            s.attributes['messaging.message.id'] === jobId,
        );
      expect(span).toBeDefined();
      return span!;
    });
    expect(consumer.spanContext().traceId).toBe(traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(parentSpanId);
  });

  it('serves its own health and metrics', async () => {
    await t.http.get('/health/ready').expect(200);
    await t.http.get('/metrics').expect(200);
  });
});
