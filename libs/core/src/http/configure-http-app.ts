import { INestApplication, Logger as NestLogger } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { AppConfig } from '../config/config.schema';
import { requestIdMiddleware } from '../context/request-id';
import { bodyParserErrorMiddleware, ProblemDetailsFilter } from '../errors/problem-details.filter';
import { createValidationPipe } from '../errors/validation';
import { documentIdempotencyKey } from '../idempotency/idempotency.openapi';
import { httpMetricsMiddleware } from '../telemetry/http-metrics.middleware';
import { MetricsService } from '../telemetry/metrics.service';
import { serveConsole } from './console-static';

export interface HttpAppOptions {
  title: string;
  description: string;
  /** Serve Swagger UI at `/docs` and the OpenAPI document at `/docs-json`. */
  docs: boolean;
  /**
   * Replaces the standard set-up ({@link configureHttpApp}) for an app whose HTTP contract is not
   * the control plane's (the gateway answers in OpenAI's error shape, not problem+json).
   */
  configure?: (app: NestExpressApplication, config: AppConfig) => void;
  /** Serve the web console's built files at `/console` from the directory this returns. */
  console?: (config: AppConfig) => string;
}

/**
 * Everything an HTTP app sets up between `NestFactory.create` and `listen`, shared by `main.ts`
 * and the test harness so tests exercise the same stack: request ids, body limits, problem+json
 * errors, validation and OpenAPI. Create the app with `{ bodyParser: false, bufferLogs: true }`.
 */
export function configureHttpApp(
  app: NestExpressApplication,
  config: AppConfig,
  options: HttpAppOptions,
): void {
  app.useLogger(app.get(Logger));
  app.use(requestIdMiddleware);
  app.use(httpMetricsMiddleware(app.get(MetricsService)));
  // Only these proxies may set the client address (X-Forwarded-For); see TRUST_PROXY.
  app.set('trust proxy', config.TRUST_PROXY);
  app.disable('x-powered-by');
  if (options.console) serveConsole(app, options.console(config));
  app.useBodyParser('json', {
    limit: config.BODY_LIMIT,
    type: ['application/json', 'application/*+json'],
  });
  // JSON only: no form bodies, which an HTML form on another site could send with a cookie.
  app.use(bodyParserErrorMiddleware);
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(createValidationPipe());
  if (options.docs) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle(options.title)
        .setDescription(options.description)
        .setVersion('1')
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          description: 'API key (cp_...) or session token',
        })
        .build(),
    );
    documentIdempotencyKey(document);
    SwaggerModule.setup('docs', app, document, {
      jsonDocumentUrl: 'docs-json',
      yamlDocumentUrl: 'docs-yaml',
    });
  }
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting connections and let in-flight requests
 * finish, then close the app (BullMQ workers let active jobs finish, then pools close). If all of
 * that takes longer than `timeoutMs`, exit with code 1 anyway.
 */
export function installGracefulShutdown(
  app: INestApplication,
  timeoutMs: number,
  afterClose: () => Promise<void> = async () => undefined,
): void {
  const logger = new NestLogger('Shutdown');
  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: draining`);
    setTimeout(() => {
      logger.error(`shutdown exceeded ${timeoutMs} ms; exiting`);
      process.exit(1);
    }, timeoutMs).unref();
    try {
      const started = Date.now();
      const server = app.getHttpServer() as import('node:http').Server | undefined;
      if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.log(`HTTP server closed after ${Date.now() - started} ms`);
      await app.close();
      logger.log(`app closed after ${Date.now() - started} ms`);
      await afterClose();
      process.exit(0);
    } catch (error) {
      logger.error(`shutdown failed: ${(error as Error).message}`);
      process.exit(1);
    }
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}
