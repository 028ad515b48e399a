import {
  AllowedOnOffboardedTenant,
  asTenantId,
  CheckPolicies,
  CurrentAccess,
  PLATFORM_TENANT_ID,
  TenantId,
} from '@app/authz';
import { PageQueryDto, ResourceId, ValidationFailed } from '@app/core';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Injectable,
  Param,
  Post,
  Query,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { AuditReportService, SignedManifest } from './audit-report.service';
import { AuditReportPage, AuditReportResponse, CreateAuditReportDto } from './dto/audit-report.dto';
import { ReportStorage } from './report-storage';

/**
 * What both report controllers do, for one chain: a tenant's (by path) or the operator's
 * platform chain. Reports are produced by the worker (AuditReportProducer).
 */
@Injectable()
abstract class ReportRoutes {
  constructor(
    protected readonly reports: AuditReportService,
    protected readonly storage: ReportStorage,
    protected readonly access: CurrentAccess,
  ) {}

  /** @throws ValidationFailed when the range is empty or starts in the future */
  protected async createFor(
    chain: TenantId,
    body: CreateAuditReportDto,
  ): Promise<AuditReportResponse> {
    // A report covers what exists when it is asked for: a range reaching into the future ends
    // now, so its contents are fixed (a retried job exports the same rows).
    const now = new Date();
    const to = body.to > now ? now : body.to;
    if (to <= body.from) {
      throw new ValidationFailed('1 field is invalid.', {
        errors: [
          body.to <= body.from
            ? { path: 'to', message: 'must be after from' }
            : { path: 'from', message: 'must be in the past' },
        ],
      });
    }
    return AuditReportResponse.of(
      await this.reports.request(
        chain,
        { from: body.from, to, format: body.format, filters: { ...(body.filters ?? {}) } },
        this.access.principal.actor,
      ),
    );
  }

  protected async listFor(chain: TenantId, query: PageQueryDto): Promise<AuditReportPage> {
    const page = await this.reports.list(chain, query.limit, query.after);
    return { data: page.data.map(AuditReportResponse.of), nextCursor: page.nextCursor };
  }

  protected async getFor(chain: TenantId, id: string): Promise<AuditReportResponse> {
    return AuditReportResponse.of(await this.reports.get(chain, id));
  }

  protected async manifestFor(chain: TenantId, id: string): Promise<SignedManifest> {
    return (await this.reports.completed(chain, id)).manifest;
  }

  /** The file, streamed after the request's transaction has committed. */
  protected async downloadFor(chain: TenantId, id: string): Promise<StreamableFile> {
    const report = await this.reports.completed(chain, id);
    return new StreamableFile(this.storage.read(report.storageKey), {
      type:
        report.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      disposition: `attachment; filename="audit-${report.id}.${report.format}"`,
    });
  }
}

/** A tenant's signed audit reports (API.md, Audit). */
@ApiTags('audit')
@Controller('v1/tenants/:tenantId/audit/reports')
export class AuditReportsController extends ReportRoutes {
  @Post()
  @HttpCode(202)
  @AllowedOnOffboardedTenant()
  @CheckPolicies('create', 'AuditReport')
  @ApiAcceptedResponse({ type: AuditReportResponse, description: 'Queued; poll GET .../{id}.' })
  create(
    @Param('tenantId') tenantId: string,
    @Body() body: CreateAuditReportDto,
  ): Promise<AuditReportResponse> {
    return this.createFor(asTenantId(tenantId), body);
  }

  @Get()
  @CheckPolicies('read', 'AuditReport')
  @ApiOkResponse({ type: AuditReportPage, description: 'Newest first.' })
  list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<AuditReportPage> {
    return this.listFor(asTenantId(tenantId), query);
  }

  @Get(':id')
  @CheckPolicies('read', 'AuditReport')
  @ApiOkResponse({ type: AuditReportResponse })
  get(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'report') id: string,
  ): Promise<AuditReportResponse> {
    return this.getFor(asTenantId(tenantId), id);
  }

  @Get(':id/manifest')
  @CheckPolicies('read', 'AuditReport')
  @ApiOkResponse({ description: 'The signed manifest (Ed25519 over its RFC 8785 JSON).' })
  @ApiConflictResponse({ description: '`report_not_ready`' })
  manifest(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'report') id: string,
  ): Promise<SignedManifest> {
    return this.manifestFor(asTenantId(tenantId), id);
  }

  @Get(':id/download')
  @CheckPolicies('read', 'AuditReport')
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiConflictResponse({ description: '`report_not_ready`' })
  download(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'report') id: string,
  ): Promise<StreamableFile> {
    return this.downloadFor(asTenantId(tenantId), id);
  }
}

/** Signed reports of the operator's platform chain (platform staff). */
@ApiTags('audit')
@Controller('v1/audit/reports')
export class PlatformAuditReportsController extends ReportRoutes {
  private readonly chain = asTenantId(PLATFORM_TENANT_ID);

  @Post()
  @HttpCode(202)
  @CheckPolicies('create', 'AuditReport', { scope: 'operator' })
  @ApiAcceptedResponse({ type: AuditReportResponse, description: 'Queued; poll GET .../{id}.' })
  create(@Body() body: CreateAuditReportDto): Promise<AuditReportResponse> {
    return this.createFor(this.chain, body);
  }

  @Get()
  @CheckPolicies('read', 'AuditReport', { scope: 'operator' })
  @ApiOkResponse({ type: AuditReportPage, description: 'Newest first.' })
  list(@Query() query: PageQueryDto): Promise<AuditReportPage> {
    return this.listFor(this.chain, query);
  }

  @Get(':id')
  @CheckPolicies('read', 'AuditReport', { scope: 'operator' })
  @ApiOkResponse({ type: AuditReportResponse })
  get(@ResourceId('id', 'report') id: string): Promise<AuditReportResponse> {
    return this.getFor(this.chain, id);
  }

  @Get(':id/manifest')
  @CheckPolicies('read', 'AuditReport', { scope: 'operator' })
  @ApiOkResponse({ description: 'The signed manifest (Ed25519 over its RFC 8785 JSON).' })
  @ApiConflictResponse({ description: '`report_not_ready`' })
  manifest(@ResourceId('id', 'report') id: string): Promise<SignedManifest> {
    return this.manifestFor(this.chain, id);
  }

  @Get(':id/download')
  @CheckPolicies('read', 'AuditReport', { scope: 'operator' })
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiConflictResponse({ description: '`report_not_ready`' })
  download(@ResourceId('id', 'report') id: string): Promise<StreamableFile> {
    return this.downloadFor(this.chain, id);
  }
}
