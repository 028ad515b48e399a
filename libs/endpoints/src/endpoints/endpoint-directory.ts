import { TenantDb, TenantId } from '@app/authz';
import { Injectable } from '@nestjs/common';
import type { ObservedDeployment } from '../providers/endpoint-provider';

/** A running endpoint the SLA probes target. */
export interface ProbeTarget {
  tenantId: string;
  endpointId: string;
  /** Served model id (what a completion request names). */
  model: string;
  modality: 'chat' | 'completion' | 'embedding';
  /**
   * Base URLs to probe: the provider's stable address when it has one (a Service), else every
   * replica the reconciler recorded (ready or not: a replica that stopped answering is exactly
   * what a probe must see).
   */
  urls: string[];
  /**
   * The desired deployment the target was read under (`<generation>:<desired replicas>`): a
   * probe that failed while it changed (a scale to zero, a rolling update) says nothing about
   * an outage.
   */
  desired: string;
}

/** When an endpoint existed: the SLA measures it over this span only. */
export interface EndpointLifetime {
  id: string;
  name: string;
  createdAt: Date;
  /** Null while it exists. */
  deletedAt: Date | null;
}

/**
 * Statuses in which an endpoint that has served before is probed: serving ones, and those that
 * fell out of service on their own (restarting replicas, failed). Requested states (`stopping`,
 * `stopped`, `deleting`, `deleted`) and a first provisioning are not probed.
 */
const PROBED_STATUSES = ['running', 'degraded', 'updating', 'provisioning', 'failed'];

/**
 * Read-only facts about endpoints for other libraries (the SLA library), so they never read the
 * endpoints' tables themselves.
 */
@Injectable()
export class EndpointDirectory {
  constructor(private readonly db: TenantDb) {}

  /**
   * Every endpoint of every tenant that should be serving now, with where to reach it: desired
   * `running` with at least one replica asked for (zero replicas is a stop in all but name), of
   * a tenant neither suspended nor offboarded (the operator's act, not an outage), converged at
   * least once (`observed_generation` set), and `running`, `degraded`,
   * `updating`, `provisioning` (replicas restarting after a crash) or `failed`, so that an
   * endpoint that crashed is still probed (and fails) until it serves again. Platform scope,
   * own transaction.
   */
  async probeTargets(): Promise<ProbeTarget[]> {
    const rows: {
      tenant_id: string;
      id: string;
      model_id: string;
      modality: string | null;
      observed: ObservedDeployment | null;
      generation: number;
      desired_replicas: number;
    }[] = await this.db.asPlatform('sla: endpoints to probe', (manager) =>
      manager.query(
        `SELECT e.tenant_id, e.id, e.model_id, m.modality, e.observed, e.generation, e.desired_replicas
           FROM endpoints e
           JOIN tenants t ON t.id = e.tenant_id
           LEFT JOIN catalog_models m ON m.id = e.model_id
          WHERE e.desired_state = 'running' AND e.observed_generation IS NOT NULL
            AND e.desired_replicas > 0 AND t.status NOT IN ('suspended', 'offboarded')
            AND e.status = ANY($1)`,
        [PROBED_STATUSES],
      ),
    );
    return rows.map((row) => ({
      tenantId: row.tenant_id,
      endpointId: row.id,
      model: row.model_id,
      modality: (row.modality ?? 'chat') as ProbeTarget['modality'],
      urls: row.observed?.url
        ? [row.observed.url]
        : (row.observed?.replicas ?? []).map((r) => r.url).filter((u): u is string => !!u),
      desired: `${row.generation}:${row.desired_replicas}`,
    }));
  }

  /** Tenants that had an endpoint at some time since `at` (platform scope, own transaction). */
  async tenantsWithEndpointsSince(at: Date): Promise<string[]> {
    const rows: { tenant_id: string }[] = await this.db.asPlatform(
      'sla: tenants with endpoints',
      (manager) =>
        manager.query(
          `SELECT DISTINCT tenant_id FROM endpoints WHERE deleted_at IS NULL OR deleted_at > $1`,
          [at],
        ),
    );
    return rows.map((row) => row.tenant_id);
  }

  /**
   * The tenant's endpoints that existed during part of [from, to), oldest first. Runs in the
   * caller's scoped transaction.
   */
  async lifetimes(tenantId: TenantId, from: Date, to: Date): Promise<EndpointLifetime[]> {
    const rows: { id: string; name: string; created_at: Date; deleted_at: Date | null }[] =
      await this.db.manager.query(
        `SELECT id, name, created_at, deleted_at FROM endpoints
          WHERE tenant_id = $1 AND created_at < $3 AND (deleted_at IS NULL OR deleted_at > $2)
          ORDER BY created_at, id`,
        [tenantId, from, to],
      );
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      createdAt: row.created_at,
      deletedAt: row.deleted_at,
    }));
  }
}
