import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { INCIDENT_CAUSES } from '../../sla.constants';

export class LatencyResponse {
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'p95 time to first byte of gateway requests, ms (±1 %); null without requests.',
  })
  ttfbP95Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'p95 total time, ms (±1 %).' })
  totalP95Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number }) ttfbP50Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number }) totalP99Ms!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'p95 of passing synthetic probes (health + one-token completion), ms.',
  })
  probeP95Ms!: number | null;
}

export class SlaIncidentSummaryResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['open', 'closed'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) endedAt!: string | null;
  @ApiProperty({ enum: INCIDENT_CAUSES, description: 'The first cause seen.' }) cause!: string;
  @ApiProperty({ enum: INCIDENT_CAUSES, isArray: true }) causes!: string[];
  @ApiProperty({ type: [String], format: 'uuid' }) endpointIds!: string[];
  @ApiProperty({ type: 'integer' }) badMinutes!: number;
}

export class ExcludedWindowResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) startsAt!: string;
  @ApiProperty({ format: 'date-time' }) endsAt!: string;
  @ApiProperty() reason!: string;
}

class MinuteFigures {
  @ApiProperty({
    type: 'integer',
    description: 'Measured minutes (endpoint-minutes for a tenant).',
  })
  minutes!: number;
  @ApiProperty({ type: 'integer', description: 'Of those, in maintenance windows.' })
  excludedMinutes!: number;
  @ApiProperty({ type: 'integer' }) badMinutes!: number;
  @ApiProperty({ type: 'integer' }) goodMinutes!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'good / (minutes − excluded) × 100, rounded down to 4 decimals.',
  })
  availability!: number | null;
  @ApiProperty({ type: 'integer' }) requests!: number;
  @ApiProperty({ type: 'integer', description: 'Requests answered 5xx (timeouts included).' })
  errors!: number;
}

export class EndpointFiguresResponse extends MinuteFigures {
  @ApiProperty({ format: 'uuid' }) endpointId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: 'integer' }) probes!: number;
  @ApiProperty({ type: 'integer' }) probeFailures!: number;
  @ApiProperty({ type: LatencyResponse }) latency!: LatencyResponse;
}

class ReportHeader extends MinuteFigures {
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
  @ApiProperty({ example: '2027-01' }) month!: string;
  @ApiProperty({ example: 'Europe/Berlin' }) timeZone!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ format: 'date-time', description: 'Minutes count up to here.' })
  measuredTo!: string;
  @ApiProperty({ description: 'True once frozen (and signed) by the monthly job.' })
  final!: boolean;
  @ApiProperty({ format: 'date-time' }) generatedAt!: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Percent.' })
  availabilityTarget!: number | null;
  @ApiProperty({ type: [SlaIncidentSummaryResponse] }) incidents!: SlaIncidentSummaryResponse[];
  @ApiProperty({ type: [ExcludedWindowResponse] }) excludedWindows!: ExcludedWindowResponse[];
}

export class SlaReportResponse extends ReportHeader {
  @ApiProperty({ type: 'integer', description: 'Length of an SLA minute, ms.' }) minuteMs!: number;
  @ApiProperty() errorRateThresholdPercent!: number;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) contractId!: string | null;
  @ApiProperty({
    description:
      'Latency percentiles (ms, ±`relativeError`), the contract targets and whether they were met.',
  })
  latency!: LatencyResponse & Record<string, unknown>;
  @ApiProperty({ type: [EndpointFiguresResponse] }) endpoints!: EndpointFiguresResponse[];
  @ApiProperty({ description: '`[{below, creditPercent}]` from the contract.' })
  creditTiers!: { below: number; creditPercent: number }[];
  @ApiProperty({ description: 'Percent of the month committed fee credited.' })
  creditPercent!: number;
  @ApiProperty({
    type: 'integer',
    description: 'The month share of the committed spend, minor units.',
  })
  monthlyFeeMinor!: number;
  @ApiProperty({ type: 'integer', description: 'Credit, minor units of `currency`.' })
  creditMinor!: number;
  @ApiProperty({ nullable: true, type: String, example: 'USD' }) currency!: string | null;
}

export class EndpointSlaReportResponse extends ReportHeader {
  @ApiProperty({ format: 'uuid' }) endpointId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: 'integer' }) probes!: number;
  @ApiProperty({ type: 'integer' }) probeFailures!: number;
  @ApiProperty({ type: LatencyResponse }) latency!: LatencyResponse;
}

export class SlaManifestResponse {
  @ApiProperty({ enum: ['sla_report'] }) kind!: string;
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
  @ApiProperty() month!: string;
  @ApiProperty() timeZone!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ nullable: true, type: Number }) availability!: number | null;
  @ApiProperty() creditPercent!: number;
  @ApiProperty({ type: 'integer' }) creditMinor!: number;
  @ApiProperty({ nullable: true, type: String }) currency!: string | null;
  @ApiProperty({ description: 'SHA-256 (hex) of the JSON report as served.' }) jsonSha256!: string;
  @ApiProperty({ description: 'SHA-256 (hex) of the CSV report as served.' }) csvSha256!: string;
  @ApiProperty({ format: 'date-time' }) generatedAt!: string;
  @ApiProperty({ enum: ['Ed25519'] }) algorithm!: string;
  @ApiProperty({ description: 'See GET /v1/audit/signing-keys.' }) keyId!: string;
  @ApiProperty({ description: 'Ed25519 (base64) over the RFC 8785 JSON of the other fields.' })
  signature!: string;
}

export class SlaIncidentResponse extends SlaIncidentSummaryResponse {
  @ApiProperty({ format: 'date-time', description: 'Start of the last affected minute.' })
  lastBadMinute!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  closedAt!: string | null;
  @ApiProperty({
    description:
      '`[{at, type: opened|endpoint_affected|cause_added|recovering|closed, endpointId?, cause?, detail?}]`',
  })
  timeline!: Record<string, unknown>[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class SlaIncidentPage {
  @ApiProperty({ type: [SlaIncidentResponse] }) data!: SlaIncidentResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class BurnRateAlertResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['fast', 'slow'] }) severity!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiPropertyOptional({ format: 'date-time', nullable: true, type: String })
  endedAt!: string | null;
  @ApiProperty({
    description: '`{longWindowMinutes, shortWindowMinutes, factor, longBurnRate, shortBurnRate}`',
  })
  burnRates!: Record<string, number>;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class BurnRateAlertPage {
  @ApiProperty({ type: [BurnRateAlertResponse] }) data!: BurnRateAlertResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
