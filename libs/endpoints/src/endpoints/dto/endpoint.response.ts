import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ENDPOINT_STATUSES, EndpointStatus } from '../endpoint-lifecycle';
import { DESIRED_STATES, DesiredState, Endpoint, EndpointEventRecord } from '../endpoint.entity';
import { AutoscalingDto } from './endpoint.dto';

export class EndpointDesiredResponse {
  @ApiProperty({ enum: DESIRED_STATES })
  state!: DesiredState;

  @ApiProperty({ description: 'Replicas wanted now (0 while stopped).' })
  replicas!: number;

  @ApiProperty()
  minReplicas!: number;

  @ApiProperty()
  maxReplicas!: number;

  @ApiProperty({ type: AutoscalingDto, nullable: true })
  autoscaling!: AutoscalingDto | null;

  @ApiProperty({ description: 'Bumped by every change the provider rolls out (a new model).' })
  generation!: number;
}

export class ReplicaResponse {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  ready!: boolean;

  @ApiProperty()
  generation!: number;

  @ApiProperty({ format: 'date-time' })
  startedAt!: string;

  @ApiPropertyOptional({ description: 'Why it is not ready, when known.' })
  detail?: string;
}

export class EndpointObservedResponse {
  @ApiProperty({ description: 'Replicas running (ready or not).' })
  replicas!: number;

  @ApiProperty()
  readyReplicas!: number;

  @ApiProperty({ type: Number, nullable: true, description: 'The spec generation last applied.' })
  generation!: number | null;

  @ApiProperty({ type: [ReplicaResponse] })
  replicaDetails!: ReplicaResponse[];
}

/** A dedicated endpoint (API.md `POST /v1/tenants/{tenantId}/endpoints`). */
export class EndpointResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty({ example: 'support-bot' })
  name!: string;

  @ApiProperty({ example: 'llama-3-8b-local' })
  model!: string;

  @ApiProperty({ example: 'eu-west-1' })
  region!: string;

  @ApiProperty({ enum: ENDPOINT_STATUSES })
  status!: EndpointStatus;

  @ApiProperty({ type: String, nullable: true, description: 'Why, for failed and degraded.' })
  statusReason!: string | null;

  @ApiProperty({ type: EndpointDesiredResponse })
  desired!: EndpointDesiredResponse;

  @ApiProperty({ type: EndpointObservedResponse })
  observed!: EndpointObservedResponse;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'https://inference.example.com/v1',
    description:
      "Where the tenant sends OpenAI-compatible requests for this endpoint's model (the gateway, with an API key holding the `inference` scope); null once deleted.",
  })
  url!: string | null;

  @ApiProperty({ example: 'local' })
  provider!: string;

  @ApiProperty({ example: 'h100' })
  gpuType!: string;

  @ApiProperty()
  gpusPerReplica!: number;

  @ApiProperty({ description: 'Whole GPU-hours recorded in the usage ledger so far.' })
  gpuHoursRecorded!: number;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  deletedAt!: string | null;

  /** @param gatewayUrl the gateway's OpenAI base URL (`<GATEWAY_PUBLIC_URL>/v1`) */
  static of(endpoint: Endpoint, gatewayUrl: string | null = null): EndpointResponse {
    const replicas = endpoint.observed?.replicas ?? [];
    return {
      id: endpoint.id,
      tenantId: endpoint.tenantId,
      name: endpoint.name,
      model: endpoint.modelId,
      region: endpoint.region,
      status: endpoint.status,
      statusReason: endpoint.statusReason,
      desired: {
        state: endpoint.desiredState,
        replicas: endpoint.desiredState === 'running' ? endpoint.desiredReplicas : 0,
        minReplicas: endpoint.minReplicas,
        maxReplicas: endpoint.maxReplicas,
        autoscaling: endpoint.autoscaling,
        generation: endpoint.generation,
      },
      observed: {
        replicas: replicas.length,
        readyReplicas: replicas.filter((r) => r.ready).length,
        generation: endpoint.observedGeneration,
        replicaDetails: replicas.map((r) => ({
          id: r.id,
          ready: r.ready,
          generation: r.generation,
          startedAt: r.startedAt,
          ...(r.detail ? { detail: r.detail } : {}),
        })),
      },
      url: endpoint.status === 'deleted' ? null : gatewayUrl,
      provider: endpoint.provider,
      gpuType: endpoint.gpuType,
      gpusPerReplica: endpoint.gpusPerReplica,
      gpuHoursRecorded: endpoint.gpuHoursRecorded,
      createdAt: endpoint.createdAt.toISOString(),
      updatedAt: endpoint.updatedAt.toISOString(),
      deletedAt: endpoint.deletedAt?.toISOString() ?? null,
    };
  }
}

export class EndpointPage {
  @ApiProperty({ type: [EndpointResponse] })
  data!: EndpointResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

/** One entry of an endpoint's history. */
export class EndpointEventResponse {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({
    example: 'status.converge',
    description:
      '`requested.<create|update|stop|start|delete>`, `status.<provision|converge|degrade|fail|stopped|deleted>`, `replica.started`, `replica.exited`, `reconcile.error`.',
  })
  type!: string;

  @ApiProperty({ type: String, nullable: true })
  fromStatus!: string | null;

  @ApiProperty({ type: String, nullable: true })
  toStatus!: string | null;

  @ApiProperty()
  message!: string;

  @ApiProperty({ type: Object, nullable: true })
  details!: Record<string, unknown> | null;

  @ApiProperty({ type: String, nullable: true, example: 'system:reconciler' })
  actor!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  static of(event: EndpointEventRecord): EndpointEventResponse {
    return {
      id: event.id,
      type: event.type,
      fromStatus: event.fromStatus,
      toStatus: event.toStatus,
      message: event.message,
      details: event.details,
      actor: event.actor,
      createdAt: event.createdAt.toISOString(),
    };
  }
}

export class EndpointEventPage {
  @ApiProperty({ type: [EndpointEventResponse] })
  data!: EndpointEventResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}
