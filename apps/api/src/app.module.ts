import { FineTuningModule } from '@app/fine-tuning';
import { EndpointsModule } from '@app/endpoints';
import { AuditModule } from '@app/audit';
import { AuthzModule } from '@app/authz';
import { AppConfig, CoreModule, CoreModuleOptions, HttpAppOptions, QueueModule } from '@app/core';
import { IdentityModule } from '@app/identity';
import { MeteringModule } from '@app/metering';
import { SlaModule } from '@app/sla';
import { SsoModule } from '@app/sso';
import { TenancyModule } from '@app/tenancy';
import { WebhooksModule } from '@app/webhooks';
import { DynamicModule, Module } from '@nestjs/common';
import { join } from 'node:path';

/** The control-plane HTTP API. Each bounded-context library adds its module here. */
@Module({})
export class AppModule {
  static register(config: AppConfig, options: Partial<CoreModuleOptions> = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, { service: 'api', ...options }),
        QueueModule.forRoot('queue'),
        AuthzModule,
        TenancyModule,
        IdentityModule,
        MeteringModule,
        AuditModule,
        WebhooksModule,
        SsoModule,
        EndpointsModule,
        FineTuningModule,
        SlaModule,
      ],
    };
  }
}

export const API_HTTP_OPTIONS: HttpAppOptions = {
  title: 'AI deployment control plane',
  description: 'Tenants, contracts and quotas, dedicated endpoints, fine-tuning, SLA and audit.',
  docs: true,
  // Built by `npm run build` (vite) next to the compiled api: dist/apps/console.
  console: (config) => config.CONSOLE_DIR ?? join(__dirname, '..', '..', 'console'),
};
