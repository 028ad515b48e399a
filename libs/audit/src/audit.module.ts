import { AccessEvents, MUTATION_AUDITOR, PLATFORM_TENANT_ID } from '@app/authz';
import { BullModule } from '@nestjs/bullmq';
import { Global, Module, OnModuleInit } from '@nestjs/common';
import { AUDIT_QUEUE } from './audit.constants';
import { AuditProcessor } from './audit.processor';
import { AuditQueryService } from './events/audit-query.service';
import { AuditService } from './events/audit.service';
import { PlatformAuditController, TenantAuditController } from './events/audit-events.controller';
import { MutationAuditService, snakeCase } from './events/mutation-audit.service';
import { AuditReportProducer } from './reports/audit-report.producer';
import { AuditReportService } from './reports/audit-report.service';
import {
  AuditReportsController,
  PlatformAuditReportsController,
} from './reports/audit-reports.controller';
import { ReportStorage } from './reports/report-storage';
import { AuditRetentionScheduler } from './retention/audit-retention.scheduler';
import { AuditRetentionService } from './retention/audit-retention.service';
import { SigningKeyService } from './signing/signing-key.service';
import { ChainVerificationService } from './verification/chain-verification.service';

/**
 * The audit log's core for every process: appending events, the mutation auditor that authz's
 * transaction interceptor calls (global, so the interceptor in AuthzModule can inject it), and
 * the signing key.
 */
@Global()
@Module({
  imports: [BullModule.registerQueue({ name: AUDIT_QUEUE })],
  providers: [
    AuditService,
    SigningKeyService,
    ReportStorage,
    MutationAuditService,
    { provide: MUTATION_AUDITOR, useExisting: MutationAuditService },
  ],
  exports: [AuditService, SigningKeyService, ReportStorage, MUTATION_AUDITOR, BullModule],
})
export class AuditCoreModule {}

/**
 * The audit log in the api: captures every mutating route (bound to authz's MUTATION_AUDITOR)
 * and every denial (AccessEvents), and serves queries, verification, exports and reports.
 */
@Module({
  imports: [AuditCoreModule],
  controllers: [
    TenantAuditController,
    PlatformAuditController,
    AuditReportsController,
    PlatformAuditReportsController,
  ],
  providers: [AuditQueryService, ChainVerificationService, AuditReportService],
})
export class AuditModule implements OnModuleInit {
  constructor(
    private readonly access: AccessEvents,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.access.onDenied((event) =>
      this.audit.tryAppendDetached({
        // The caller's own chain: a cross-tenant attempt is recorded where the caller lives.
        tenantId: event.callerTenantId ?? PLATFORM_TENANT_ID,
        actor: event.actor ?? { type: 'anonymous' },
        action: 'authz.denied',
        resource: {
          type: event.subject ? snakeCase(event.subject) : 'route',
          id: event.tenantId ?? event.path,
        },
        outcome: 'denied',
        reason: `${event.status} ${event.reason}: ${event.method} ${event.path}${event.action ? ` (${event.action} ${event.subject})` : ''}`,
        requestId: event.requestId,
      }),
    );
  }
}

/** The audit log's jobs in the worker: report exports and retention. */
@Module({
  imports: [AuditCoreModule],
  providers: [AuditReportProducer, AuditRetentionService, AuditProcessor, AuditRetentionScheduler],
})
export class AuditWorkerModule {}
