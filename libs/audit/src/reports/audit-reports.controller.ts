import { AllowedOnOffboardedTenant, asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { PageQueryDto, ResourceId, ValidationFailed } from '@app/core';
import {
  Body,
  Controller,
  Get,
  HttpCode,
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

/** Signed audit reports (API.md, Audit): requested here, produced by the worker. */
@ApiTags('audit')
@Controller('v1/tenants/:tenantId/audit/reports')
export class AuditReportsController {
  constructor(
    private readonly reports: AuditReportService,
    private readonly storage: ReportStorage,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @HttpCode(202)
  @AllowedOnOffboardedTenant()
  @CheckPolicies('create', 'AuditReport')
  @ApiAcceptedResponse({ type: AuditReportResponse, description: 'Queued; poll GET .../{id}.' })
  async create(
    @Param('tenantId') tenantId: string,
    @Body() body: CreateAuditReportDto,
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
        asTenantId(tenantId),
        { from: body.from, to, format: body.format, filters: { ...(body.filters ?? {}) } },
        this.access.principal.actor,
      ),
    );
  }

  @Get()
  @CheckPolicies('read', 'AuditReport')
  @ApiOkResponse({ type: AuditReportPage, description: 'Newest first.' })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<AuditReportPage> {
    const page = await this.reports.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(AuditReportResponse.of), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @CheckPolicies('read', 'AuditReport')
  @ApiOkResponse({ type: AuditReportResponse })
  async get(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'report') id: string,
  ): Promise<AuditReportResponse> {
    return AuditReportResponse.of(await this.reports.get(asTenantId(tenantId), id));
  }

  @Get(':id/manifest')
  @CheckPolicies('read', 'AuditReport')
  @ApiOkResponse({ description: 'The signed manifest (Ed25519 over its RFC 8785 JSON).' })
  @ApiConflictResponse({ description: '`report_not_ready`' })
  async manifest(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'report') id: string,
  ): Promise<SignedManifest> {
    return (await this.reports.completed(asTenantId(tenantId), id)).manifest;
  }

  /** The file, streamed after the request's transaction has committed. */
  @Get(':id/download')
  @CheckPolicies('read', 'AuditReport')
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiConflictResponse({ description: '`report_not_ready`' })
  async download(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'report') id: string,
  ): Promise<StreamableFile> {
    const report = await this.reports.completed(asTenantId(tenantId), id);
    return new StreamableFile(this.storage.read(report.storageKey), {
      type:
        report.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      disposition: `attachment; filename="audit-${report.id}.${report.format}"`,
    });
  }
}
