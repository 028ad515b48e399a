import {
  asTenantId,
  CheckPolicies,
  CurrentAccess,
  OutsideRequestTransaction,
  PLATFORM_TENANT_ID,
  TenantDb,
} from '@app/authz';
import { Public, TooManyRequests, ValidationFailed } from '@app/core';
import { Controller, Get, Logger, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuditExportQueryDto } from '../reports/dto/audit-report.dto';
import { exportAuditEvents } from '../reports/audit-export';
import { SigningKeyService } from '../signing/signing-key.service';
import { ChainVerificationService } from '../verification/chain-verification.service';
import { AuditQueryService } from './audit-query.service';
import {
  AuditEventPage,
  AuditEventQueryDto,
  PlatformAuditEventQueryDto,
  VerificationResponse,
  VerifyQueryDto,
} from './dto/audit-event.dto';

/** @throws ValidationFailed (400) when `to` is not after `from`. */
function assertRange(q: { from?: Date; to?: Date }): void {
  if (q.from && q.to && q.to <= q.from) {
    throw new ValidationFailed('1 field is invalid.', {
      errors: [{ path: 'to', message: 'must be after from' }],
    });
  }
}

/** Exports running in this process (each holds a connection while its client reads). */
let runningExports = 0;
/** At most this many at once per process, so slow readers cannot take the pool. */
const MAX_EXPORTS = 2;

const filterOf = (q: AuditEventQueryDto) => ({
  from: q.from,
  to: q.to,
  actorId: q.actorId,
  action: q.action,
  resourceType: q.resourceType,
  resourceId: q.resourceId,
  outcome: q.outcome,
});

/** A tenant's audit chain: query, verify, export (API.md, Audit). Read-only by design. */
@ApiTags('audit')
@Controller('v1/tenants/:tenantId/audit')
export class TenantAuditController {
  private readonly logger = new Logger('AuditExport');

  constructor(
    private readonly query: AuditQueryService,
    private readonly verification: ChainVerificationService,
    private readonly db: TenantDb,
  ) {}

  @Get('events')
  @CheckPolicies('read', 'AuditEvent')
  @ApiOkResponse({ type: AuditEventPage, description: 'In sequence order (default newest first).' })
  events(
    @Param('tenantId') tenantId: string,
    @Query() query: AuditEventQueryDto,
  ): Promise<AuditEventPage> {
    assertRange(query);
    return this.query.chain(
      asTenantId(tenantId),
      filterOf(query),
      query.order,
      query.limit,
      query.after,
    );
  }

  @Get('verify')
  @CheckPolicies('read', 'AuditEvent')
  @ApiOkResponse({ type: VerificationResponse })
  verify(
    @Param('tenantId') tenantId: string,
    @Query() query: VerifyQueryDto,
  ): Promise<VerificationResponse> {
    assertRange(query);
    return this.verification.verify(asTenantId(tenantId), query);
  }

  /**
   * Streams the chain (JSON Lines or CSV) straight to the client with `COPY ... TO STDOUT` in a
   * read-only snapshot; a client that goes away cancels the query.
   */
  @Get('export')
  @OutsideRequestTransaction()
  @CheckPolicies('read', 'AuditEvent')
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiOkResponse({ description: 'Events in sequence order, as in a report file.' })
  async export(
    @Param('tenantId') tenantId: string,
    @Query() query: AuditExportQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    assertRange(query);
    if (runningExports >= MAX_EXPORTS) {
      throw new TooManyRequests(
        'Too many audit exports are running; retry shortly, or request a report (POST .../audit/reports).',
        { headers: { 'Retry-After': '5' } },
      );
    }
    runningExports += 1;
    res.on('close', () => (runningExports -= 1));
    const tenant = asTenantId(tenantId);
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client went away'));
    });
    res.status(200);
    res.setHeader(
      'Content-Type',
      query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    );
    res.setHeader('Cache-Control', 'no-store');
    try {
      const summary = await this.db.run(
        { kind: 'tenant', tenantId: tenant },
        () =>
          exportAuditEvents(this.db.client, res, {
            chain: tenant,
            filter: { ...query, from: query.from, to: query.to },
            format: query.format,
            signal: abort.signal,
          }),
        { readOnly: true, repeatableRead: true },
      );
      res.end();
      this.logger.log({ tenantId: tenant, rows: summary.rowCount }, 'audit export completed');
    } catch (error) {
      if (abort.signal.aborted) {
        this.logger.log(
          { tenantId: tenant },
          'audit export aborted by the client: query cancelled',
        );
        return;
      }
      if (!res.headersSent) throw error;
      this.logger.error({ err: error, tenantId: tenant }, 'audit export failed mid-stream');
      res.destroy(error as Error);
    }
  }
}

/** The platform view: the operator chain and, for platform roles, every tenant's. */
@ApiTags('audit')
@Controller('v1/audit')
export class PlatformAuditController {
  constructor(
    private readonly query: AuditQueryService,
    private readonly verification: ChainVerificationService,
    private readonly keys: SigningKeyService,
    private readonly access: CurrentAccess,
  ) {}

  @Get('events')
  @CheckPolicies('read', 'AuditEvent', { scope: 'platform' })
  @ApiOkResponse({ type: AuditEventPage, description: 'By time (default newest first).' })
  events(@Query() query: PlatformAuditEventQueryDto): Promise<AuditEventPage> {
    assertRange(query);
    return this.query.all(
      { ...filterOf(query), tenantId: query.tenantId },
      query.order,
      query.limit,
      query.after,
    );
  }

  @Get('verify')
  @CheckPolicies('read', 'AuditEvent', { scope: 'platform' })
  @ApiOkResponse({
    type: VerificationResponse,
    description: "The platform chain (staff), or the caller's own tenant chain.",
  })
  verify(@Query() query: VerifyQueryDto): Promise<VerificationResponse> {
    assertRange(query);
    const scope = this.access.scope;
    return this.verification.verify(
      scope.kind === 'tenant' ? scope.tenantId : PLATFORM_TENANT_ID,
      query,
    );
  }

  @Get('signing-keys')
  @Public()
  @ApiOkResponse({
    description: '`{keys: [{keyId, algorithm, publicKeyPem, createdAt, retiredAt}]}`',
  })
  async signingKeys(): Promise<{
    keys: {
      keyId: string;
      algorithm: string;
      publicKeyPem: string;
      createdAt: string;
      retiredAt: string | null;
    }[];
  }> {
    const keys = await this.keys.trusted();
    return {
      keys: keys.map((k) => ({
        keyId: k.keyId,
        algorithm: k.algorithm,
        publicKeyPem: k.publicKeyPem,
        createdAt: k.createdAt.toISOString(),
        retiredAt: k.retiredAt?.toISOString() ?? null,
      })),
    };
  }
}
