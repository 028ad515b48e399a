/**
 * What the shared HTTP stack costs: `/health/live` through the full api (request id, CLS
 * context, pino, metrics middleware, problem filter, validation pipe, OpenTelemetry spans)
 * against a bare Express handler answering the same JSON, in the same process and run.
 */
import '../apps/api/src/instrument';
import { createTestApp } from '@app/testing';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { API_HTTP_OPTIONS, AppModule } from '../apps/api/src/app.module';
import { compare } from './harness';

async function main(): Promise<void> {
  const bare = express();
  bare.get('/health/live', (_req, res) => res.json({ status: 'ok' }));
  const server = bare.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const barePort = (server.address() as AddressInfo).port;

  const api = await createTestApp(
    (config, options) => AppModule.register(config, options),
    API_HTTP_OPTIONS,
  );
  const apiPort = (api.app.getHttpServer().address() as AddressInfo).port;

  await compare('GET /health/live', [
    { name: 'bare express (baseline)', url: `http://127.0.0.1:${barePort}/health/live` },
    { name: 'full api stack', url: `http://127.0.0.1:${apiPort}/health/live` },
  ]);
  await api.close();
  server.close();
}

void main();
