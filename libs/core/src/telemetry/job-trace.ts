import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/** W3C trace context (`traceparent`, `tracestate`) carried inside a job's data. */
export type TraceCarrier = Record<string, string>;

/** Job data with the trace context of whoever queued it. */
export type Traced<T> = T & { traceContext?: TraceCarrier };

const tracer = trace.getTracer('control-plane.jobs');

/**
 * Adds the active trace context to job data, so the job's spans become children of the request
 * (or job) that queued it. Use for every `queue.add`.
 */
export function withTraceContext<T extends object>(data: T): Traced<T> {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return { ...data, traceContext: carrier };
}

/**
 * Runs a job's work inside a consumer span whose parent is the context found in its data.
 *
 * @param spanName e.g. `heartbeat process`; the queue and job ids are attributes.
 */
export async function runInJobTrace<T>(
  job: { id?: string; name: string; queueName: string; data: Traced<object>; attemptsMade: number },
  work: () => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(context.active(), job.data.traceContext ?? {});
  return tracer.startActiveSpan(
    `${job.queueName} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'bullmq',
        'messaging.destination.name': job.queueName,
        'messaging.operation.type': 'process',
        'messaging.message.id': job.id ?? '',
        'bullmq.job.name': job.name,
        'bullmq.job.attempts_made': job.attemptsMade,
      },
    },
    parent,
    async (span) => {
      try {
        return await work();
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
