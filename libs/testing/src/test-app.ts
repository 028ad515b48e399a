import { AppConfig, configureHttpApp, HttpAppOptions, loadConfig } from '@app/core';
import { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Writable } from 'node:stream';
import type { DestinationStream } from 'pino';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';

export interface TestAppOptions {
  /** Environment overrides on top of this worker's (its own database and Redis prefix). */
  env?: Record<string, string>;
  /** Capture log lines in `TestApp.logs` instead of discarding them. */
  captureLogs?: boolean;
  /** Listen on this port (e.g. one that `PUBLIC_URL` names for a browser); default ephemeral. */
  port?: number;
}

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** supertest bound to the app's HTTP server. */
  http: TestAgent;
  /** Log lines written so far, parsed, when `captureLogs` was set. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Boots a real app (same module, same HTTP setup as `main.ts`) against this worker's PostgreSQL
 * database and Redis prefix, listening on an ephemeral port.
 *
 * @param moduleFor e.g. `(config, opts) => AppModule.register(config, opts)`
 */
export async function createTestApp(
  moduleFor: (config: AppConfig, options: { logDestination?: DestinationStream }) => DynamicModule,
  httpOptions: HttpAppOptions,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const config = loadConfig({
    ...process.env,
    ...(options.captureLogs ? { LOG_LEVEL: 'info' } : {}),
    ...options.env,
  });
  const logs: Record<string, unknown>[] = [];
  const logDestination = options.captureLogs
    ? new Writable({
        write(chunk: Buffer, _encoding, callback) {
          for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
            logs.push(JSON.parse(line));
          callback();
        },
      })
    : undefined;
  const app = await NestFactory.create<NestExpressApplication>(
    moduleFor(config, { logDestination }),
    {
      bodyParser: false,
      bufferLogs: true,
      abortOnError: false,
    },
  );
  if (httpOptions.configure) httpOptions.configure(app, config);
  else configureHttpApp(app, config, httpOptions);
  await app.listen(options.port ?? 0, '127.0.0.1');
  return {
    app,
    config,
    http: request(app.getHttpServer()),
    logs,
    // As in production: stop taking connections and let in-flight requests finish, then close.
    close: async () => {
      const server = app.getHttpServer() as import('node:http').Server;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    },
  };
}
