import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus registry, one per app instance (so several apps in one test process
 * do not collide). Libraries add their own metrics through {@link MetricsService.registry}.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** HTTP server request duration in seconds, by method, matched route template and status. */
  readonly httpRequestDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests handled by this process, in seconds.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Requests refused by authentication or authorization, by reason (filled by the authz guard). */
  readonly accessDenied = new Counter({
    name: 'access_denied_total',
    help: 'Requests refused by authentication or authorization.',
    labelNames: ['status_code', 'reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
