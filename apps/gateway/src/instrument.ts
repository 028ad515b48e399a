// Loaded before anything else so OpenTelemetry can patch http, express, pg and ioredis.
import { startTelemetry } from '@app/core/telemetry/telemetry';
import { inferenceRoute } from './inference-routes';

startTelemetry('control-plane-gateway', process.env, {
  // The gateway's flushes of usage and samples (every 200 ms, outside any request) are not
  // traced statement by statement; a request's own Redis and PostgreSQL calls are.
  clientSpansNeedParent: true,
  // The inference routes make their own server span (InferenceHttp): the generic one costs
  // more than the rest of the gateway's tracing together (attributes, emitter wrapping).
  ignoreIncomingRequest: (req) => inferenceRoute(req.method, req.url) !== undefined,
});
