// Loaded before anything else so OpenTelemetry can patch http, express, pg and ioredis.
import { startTelemetry } from '@app/core/telemetry/telemetry';

startTelemetry('control-plane-gateway');
