import { DynamicModule, Module } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import { LoggerModule, Params } from 'nestjs-pino';
import type { DestinationStream, LoggerOptions } from 'pino';
import type { AppConfig } from '../config/config.schema';
import { REDACTED, redactSecrets, redactUrl } from './redaction';

/**
 * pino options shared by every process: JSON lines, the active trace and span ids on each line,
 * and secrets redacted twice over (known header paths, and any field named like a secret).
 */
export function pinoOptions(config: Pick<AppConfig, 'LOG_LEVEL'>, service: string): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    base: { service },
    messageKey: 'msg',
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
      ],
      censor: REDACTED,
    },
    formatters: {
      log: (object) => redactSecrets(object) as Record<string, unknown>,
    },
    serializers: {
      // An allowlist: no header but these reaches a log line, and query values named like
      // secrets are masked.
      req: (req: {
        id?: string;
        method?: string;
        url?: string;
        remoteAddress?: string;
        headers?: Record<string, string>;
      }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.remoteAddress,
        userAgent: req.headers?.['user-agent'],
        contentLength: req.headers?.['content-length'],
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    mixin: () => {
      const span = trace.getActiveSpan()?.spanContext();
      return span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : {};
    },
  };
}

/** nestjs-pino for an app; `destination` lets tests capture the lines. */
@Module({})
export class LoggingModule {
  static forRoot(
    config: AppConfig,
    service: string,
    destination?: DestinationStream,
  ): DynamicModule {
    const options = pinoOptions(config, service);
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: [
            {
              ...options,
              genReqId: (req: IncomingMessage & { id?: string }) => req.id ?? '',
              customProps: (req: IncomingMessage & { id?: string }) => ({ requestId: req.id }),
              autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
              quietReqLogger: true,
            },
            ...(destination ? [destination] : []),
          ] as Params['pinoHttp'],
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
