import { EndpointsWorkerModule } from '@app/endpoints';
import { FineTuningWorkerModule } from '@app/fine-tuning';
import {
  AppConfig,
  CoreModule,
  CoreModuleOptions,
  HeartbeatModule,
  HttpAppOptions,
  IdempotencyPurgeModule,
  QueueModule,
} from '@app/core';
import { AuditWorkerModule } from '@app/audit';
import { AuthzCoreModule } from '@app/authz';
import { MeteringCoreModule, MeteringWorkerModule } from '@app/metering';
import { SlaCoreModule, SlaWorkerModule } from '@app/sla';
import { TenancyCoreModule, TenancyWorkerModule } from '@app/tenancy';
import { WebhooksCoreModule, WebhooksWorkerModule } from '@app/webhooks';
import { DynamicModule, Module } from '@nestjs/common';

/**
 * The BullMQ worker process: consumers only (processors come from the libraries). It also serves
 * `/health/*` and `/metrics` on `WORKER_PORT` for its probes and scrapes.
 */
@Module({})
export class WorkerModule {
  static register(config: AppConfig, options: Partial<CoreModuleOptions> = {}): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        CoreModule.forRoot(config, { service: 'worker', ...options }),
        QueueModule.forRoot('worker'),
        AuthzCoreModule,
        TenancyCoreModule,
        TenancyWorkerModule,
        MeteringCoreModule,
        MeteringWorkerModule,
        HeartbeatModule,
        IdempotencyPurgeModule,
        AuditWorkerModule,
        WebhooksCoreModule,
        WebhooksWorkerModule,
        EndpointsWorkerModule,
        SlaCoreModule,
        SlaWorkerModule,
        FineTuningWorkerModule,
      ],
    };
  }
}

export const WORKER_HTTP_OPTIONS: HttpAppOptions = {
  title: 'AI deployment control plane worker',
  description: 'Health and metrics of the worker process.',
  docs: false,
};
