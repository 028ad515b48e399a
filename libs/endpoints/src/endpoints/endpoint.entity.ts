import { BIGINT_AS_NUMBER } from '@app/core';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ObservedDeployment } from '../providers/endpoint-provider';
import type { EndpointStatus } from './endpoint-lifecycle';

export const DESIRED_STATES = ['running', 'stopped', 'deleted'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

/** How replicas follow load between `minReplicas` and `maxReplicas`. */
export interface AutoscalingPolicy {
  /** Requests in flight per replica the autoscaler aims for (≥ 1). */
  targetConcurrentRequests: number;
  /** How long load must stay low before a replica is removed, ms. */
  scaleDownDelayMs: number;
}

/**
 * A tenant's dedicated endpoint: its desired spec (model, region, replicas, desired state,
 * `generation`) and its observed status (`status`, `observed`), which only the reconciler writes.
 */
@Entity('endpoints')
export class Endpoint {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  modelId!: string;

  @Column({ type: 'text' })
  region!: string;

  /** The provider that runs it (`local`, `kubernetes`), fixed at creation. */
  @Column({ type: 'text' })
  provider!: string;

  @Column({ type: 'integer' })
  minReplicas!: number;

  @Column({ type: 'integer' })
  maxReplicas!: number;

  /** Replicas wanted now, within [min, max] (the autoscaler moves it); 0 while stopped. */
  @Column({ type: 'integer' })
  desiredReplicas!: number;

  @Column({ type: 'jsonb', nullable: true })
  autoscaling!: AutoscalingPolicy | null;

  /** Since when the autoscaler has wanted fewer replicas (null: it does not). */
  @Column({ type: 'timestamptz', nullable: true })
  scaleDownSince!: Date | null;

  @Column({ type: 'text' })
  desiredState!: DesiredState;

  /** Copied from the catalog when the model is chosen (the catalog may change later). */
  @Column({ type: 'text' })
  gpuType!: string;

  @Column({ type: 'integer' })
  gpusPerReplica!: number;

  /** Bumped by every change the provider must roll out (a new model). */
  @Column({ type: 'integer' })
  generation!: number;

  @Column({ type: 'text' })
  status!: EndpointStatus;

  @Column({ type: 'text', nullable: true })
  statusReason!: string | null;

  @Column({ type: 'jsonb' })
  observed!: ObservedDeployment;

  @Column({ type: 'integer', nullable: true })
  observedGeneration!: number | null;

  /** Consecutive failed reconciliations (backoff). */
  @Column({ type: 'integer' })
  reconcileFailures!: number;

  /** Whole GPU-hours already recorded in the usage ledger for this endpoint. */
  @Column({ type: 'bigint', transformer: BIGINT_AS_NUMBER })
  gpuHoursRecorded!: number;

  /** Id of the `dedicated_endpoints` +1 usage event (the −1 at deletion is derived from it). */
  @Column({ type: 'uuid' })
  quotaEventId!: string;

  /** The +1 usage event is in the ledger (see the migration). */
  @Column({ type: 'boolean' })
  quotaRecorded!: boolean;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  @Column({ type: 'text', nullable: true })
  updatedBy!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;
}

/** One entry of an endpoint's history (`GET .../endpoints/{id}/events`). */
@Entity('endpoint_events')
export class EndpointEventRecord {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'uuid' })
  endpointId!: string;

  /** `requested.<request>`, `status.<observation>`, `replica.started`, `replica.exited`, … */
  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text', nullable: true })
  fromStatus!: string | null;

  @Column({ type: 'text', nullable: true })
  toStatus!: string | null;

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: 'jsonb', nullable: true })
  details!: Record<string, unknown> | null;

  /** `user:<id>`, `api_key:<id>` or `system:reconciler`. */
  @Column({ type: 'text', nullable: true })
  actor!: string | null;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;
}
