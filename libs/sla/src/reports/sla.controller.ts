import { asTenantId, CheckPolicies, TenantId } from '@app/authz';
import { PageQueryDto, ResourceId, ValidationFailed } from '@app/core';
import { EndpointService } from '@app/endpoints';
import { Controller, Get, Param, Query, StreamableFile } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiExtraModels,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { SlaIncident, SlaBurnRateAlert } from '../incidents/sla-incident.entity';
import { incidentSummary, SlaIncidentService } from '../incidents/sla-incident.service';
import { SlaManifestQueryDto, SlaQueryDto } from './dto/sla-query.dto';
import {
  BurnRateAlertPage,
  BurnRateAlertResponse,
  EndpointSlaReportResponse,
  SlaIncidentPage,
  SlaIncidentResponse,
  SlaManifestResponse,
  SlaReportResponse,
} from './dto/sla-report.response';
import {
  EndpointSlaReport,
  SlaMonthReport,
  SlaReportManifest,
  SlaReportService,
} from './sla-report.service';

const NOT_FOUND = 'No such tenant (or endpoint, or incident), or one the caller may not see.';

const incidentView = (i: SlaIncident): SlaIncidentResponse => ({
  ...incidentSummary(i),
  lastBadMinute: i.lastBadMinute.toISOString(),
  closedAt: i.closedAt?.toISOString() ?? null,
  timeline: i.timeline as unknown as Record<string, unknown>[],
  createdAt: i.createdAt.toISOString(),
});

const alertView = (a: SlaBurnRateAlert): BurnRateAlertResponse => ({
  id: a.id,
  severity: a.severity,
  startedAt: a.startedAt.toISOString(),
  endedAt: a.endedAt?.toISOString() ?? null,
  burnRates: a.burnRates,
  createdAt: a.createdAt.toISOString(),
});

/**
 * A tenant's SLA (API.md, SLA): the month's report (live until the monthly job freezes it), one
 * endpoint's figures, the signed manifest of a frozen month, incidents and burn-rate alerts.
 * Read by the tenant's admins and compliance officers, assigned account managers, operator
 * compliance officers and platform admins (`SlaReport`).
 */
@ApiTags('sla')
@ApiParam({ name: 'tenantId', format: 'uuid', description: 'A customer tenant.' })
@ApiNotFoundResponse({ description: NOT_FOUND })
@ApiExtraModels(SlaReportResponse)
@Controller('v1/tenants/:tenantId')
export class SlaController {
  constructor(
    private readonly reports: SlaReportService,
    private readonly incidents: SlaIncidentService,
    private readonly endpoints: EndpointService,
  ) {}

  @Get('sla')
  @CheckPolicies('read', 'SlaReport')
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({
    type: SlaReportResponse,
    description:
      'JSON (or CSV with `format=csv`). A frozen month is served exactly as signed (`final: true`); otherwise live figures.',
  })
  async report(
    @Param('tenantId') tenantId: string,
    @Query() query: SlaQueryDto,
  ): Promise<SlaMonthReport | StreamableFile> {
    const tenant = asTenantId(tenantId);
    const month = await this.month(tenant, query.month);
    const { report, frozen } = await this.reports.report(tenant, month);
    if (query.format === 'csv') {
      return file(frozen?.csv ?? this.reports.toCsv(report), 'csv', `sla-${month}.csv`);
    }
    return frozen ? file(frozen.json, 'json') : report;
  }

  @Get('sla/manifest')
  @CheckPolicies('read', 'SlaReport')
  @ApiOkResponse({ type: SlaManifestResponse })
  @ApiConflictResponse({ description: '`sla_report_not_final`: the month is not frozen yet' })
  async manifest(
    @Param('tenantId') tenantId: string,
    @Query() query: SlaManifestQueryDto,
  ): Promise<SlaReportManifest> {
    return this.reports.manifest(asTenantId(tenantId), query.month);
  }

  @Get('sla/incidents')
  @CheckPolicies('read', 'SlaReport')
  @ApiOkResponse({ type: SlaIncidentPage, description: 'Newest first.' })
  async listIncidents(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<SlaIncidentPage> {
    const page = await this.incidents.list(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(incidentView), nextCursor: page.nextCursor };
  }

  @Get('sla/incidents/:id')
  @CheckPolicies('read', 'SlaReport')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The incident.' })
  @ApiOkResponse({ type: SlaIncidentResponse })
  async getIncident(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'incident') id: string,
  ): Promise<SlaIncidentResponse> {
    return incidentView(await this.incidents.get(asTenantId(tenantId), id));
  }

  @Get('sla/burn-rate-alerts')
  @CheckPolicies('read', 'SlaReport')
  @ApiOkResponse({ type: BurnRateAlertPage, description: 'Newest first.' })
  async listAlerts(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
  ): Promise<BurnRateAlertPage> {
    const page = await this.incidents.alerts(asTenantId(tenantId), query.limit, query.after);
    return { data: page.data.map(alertView), nextCursor: page.nextCursor };
  }

  @Get('endpoints/:id/sla')
  @CheckPolicies('read', 'SlaReport')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The dedicated endpoint.' })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: EndpointSlaReportResponse })
  async endpointReport(
    @Param('tenantId') tenantId: string,
    @ResourceId('id', 'endpoint') id: string,
    @Query() query: SlaQueryDto,
  ): Promise<EndpointSlaReport | StreamableFile> {
    const tenant = asTenantId(tenantId);
    await this.endpoints.get(tenant, id);
    const month = await this.month(tenant, query.month);
    const report = await this.reports.endpointReport(tenant, id, month);
    if (query.format === 'csv') {
      const { report: full } = await this.reports.report(tenant, month);
      const csv = this.reports.toCsv({
        ...full,
        endpoints: full.endpoints.filter((e) => e.endpointId === id),
      });
      return file(csv, 'csv', `sla-${month}-${id}.csv`);
    }
    return report;
  }

  /** The month asked for, or the current one; a month after the current one is refused. */
  private async month(tenantId: TenantId, asked: string | undefined): Promise<string> {
    const { month: current, timeZone } = await this.reports.currentMonth(tenantId);
    if (asked && asked > current) {
      throw new ValidationFailed('1 field is invalid.', {
        errors: [
          {
            path: 'month',
            message: `must not be after the current month (${current} in ${timeZone})`,
          },
        ],
      });
    }
    return asked ?? current;
  }
}

function file(text: string, format: 'json' | 'csv', name?: string): StreamableFile {
  return new StreamableFile(Buffer.from(text, 'utf8'), {
    type: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    ...(name ? { disposition: `attachment; filename="${name}"` } : {}),
  });
}
