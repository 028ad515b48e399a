import { AuditCoreModule } from '@app/audit';
import { AuthzCoreModule } from '@app/authz';
import {
  AppConfig,
  CoreModule,
  CoreModuleOptions,
  httpMetricsMiddleware,
  HttpAppOptions,
  MetricsService,
  QueueModule,
  requestIdMiddleware,
} from '@app/core';
import { EndpointsCoreModule } from '@app/endpoints';
import { IdentityCoreModule } from '@app/identity';
import { MeteringCoreModule } from '@app/metering';
import { TenancyCoreModule } from '@app/tenancy';
import { WebhooksCoreModule } from '@app/webhooks';
import { DynamicModule, Module } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { json } from 'express';
import { Logger } from 'nestjs-pino';
import { EndpointRoutes } from './endpoint-routes';
import { GatewayKeys } from './gateway-keys';
import { GatewayQuota } from './gateway-quota';
import { QuotaHoldPool } from './quota-hold-pool';
import { InferenceHttp } from './inference-http';
import { InferenceController } from './inference.controller';
import { InferenceService } from './inference.service';
import { bodyErrors, OpenAiErrorFilter } from './openai-error.filter';
import { UsageRecorder } from './usage-recorder';

/**
 * The data-plane gateway (`apps/gateway`): OpenAI-compatible inference in front of the tenants'
 * dedicated endpoints, with API-key auth, quota reservations and metering. Also serves
 * `/health/*` and `/metrics` (from CoreModule) on GATEWAY_PORT.
 */
@Module({})
export class GatewayModule {
  static register(config: AppConfig, options: Partial<CoreModuleOptions> = {}): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        CoreModule.forRoot(config, { service: 'gateway', ...options }),
        // The endpoints library queues reconciles; the gateway never does, but shares the module.
        QueueModule.forRoot('queue'),
        AuthzCoreModule,
        // Identity's services append audit events (sessions); the gateway itself audits nothing.
        AuditCoreModule,
        IdentityCoreModule,
        TenancyCoreModule,
        MeteringCoreModule,
        EndpointsCoreModule,
        // The secrets key (SecretBox) signs quota reservation ids.
        WebhooksCoreModule,
      ],
      controllers: [InferenceController],
      providers: [
        GatewayKeys,
        EndpointRoutes,
        GatewayQuota,
        QuotaHoldPool,
        UsageRecorder,
        InferenceService,
        InferenceHttp,
      ],
    };
  }
}

/**
 * The gateway's HTTP set-up: the inference routes' own handler ahead of Express
 * ({@link InferenceHttp}); for everything else request ids, metrics, JSON bodies up to
 * GATEWAY_MAX_BODY_BYTES and OpenAI errors.
 */
export function configureGatewayApp(app: NestExpressApplication, config: AppConfig): void {
  app.useLogger(app.get(Logger));
  app.get(InferenceHttp).install(app.getHttpServer());
  app.use(requestIdMiddleware);
  app.use(httpMetricsMiddleware(app.get(MetricsService)));
  app.set('trust proxy', config.TRUST_PROXY);
  app.disable('x-powered-by');
  app.use(json({ limit: config.GATEWAY_MAX_BODY_BYTES, type: () => true }));
  app.use(bodyErrors);
  app.useGlobalFilters(new OpenAiErrorFilter());
}

export const GATEWAY_HTTP_OPTIONS: HttpAppOptions = {
  title: 'AI deployment control plane gateway',
  description: 'OpenAI-compatible inference.',
  docs: false,
  configure: configureGatewayApp,
};
