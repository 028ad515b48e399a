import { asTenantId, TenantDb } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { Endpoint } from '@app/endpoints';
import { Injectable } from '@nestjs/common';
import { OpenAiError } from './openai-error';

/** Where one request for a model goes. */
export interface Route {
  endpointId: string;
  /** Base URL of the chosen replica, e.g. `http://127.0.0.1:41234`. */
  replicaUrl: string;
  /** Its host and port (for the upstream request's span). */
  replicaAddress: string;
  replicaPort: number;
  /** The model's context length, tokens (prompt and completion together). */
  contextLength: number;
}

interface TenantRoutes {
  /** Served model id → endpoints serving it (with their ready replicas). */
  byModel: Map<
    string,
    { endpointId: string; status: string; replicas: Replica[]; contextLength: number }[]
  >;
  /** From here a request refreshes the copy in the background (and keeps using it). */
  refreshAtMs: number;
  /** From here the copy is not used: a request waits for a fresh one. */
  expiresAtMs: number;
}

/** How long a replica that could not be reached is passed over while another can serve, ms. */
export const UNREACHABLE_MS = 10_000;

interface Replica {
  url: string;
  address: string;
  port: number;
}

interface CacheEntry {
  routes?: TenantRoutes;
  loading?: Promise<TenantRoutes>;
}

/**
 * Finds where a tenant's request for `model` goes: one of the ready replicas of the tenant's
 * endpoints serving that model (whatever their status: an `updating` or `degraded` endpoint
 * still serves from its ready replicas), round-robin; for an endpoint whose replicas have no
 * address of their own, its stable address (a Kubernetes Service) while one of them is ready. A tenant's routes are read in one query and reused for
 * GATEWAY_ROUTE_CACHE_TTL_MS, so a replica that stopped is dropped within that time; one that
 * could not be reached meanwhile is passed over at once ({@link unreachable}) and its request
 * goes to another ({@link alternative}).
 */
@Injectable()
export class EndpointRoutes {
  private readonly tenants = new Map<string, CacheEntry>();
  /** `${tenantId} ${replicaUrl}` → until when (ms) it is passed over ({@link unreachable}). */
  private readonly unreachableUntil = new Map<string, number>();
  private turn = 0;

  constructor(
    private readonly db: TenantDb,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * @throws OpenAiError 404 `model_not_found` when the tenant has no endpoint for the model;
   *   503 `model_not_ready` (with Retry-After) when its endpoints have no ready replica
   */
  async route(tenantId: string, model: string): Promise<Route> {
    const routes = await this.routesOf(tenantId);
    const endpoints = routes.byModel.get(model);
    if (!endpoints || endpoints.length === 0) {
      throw new OpenAiError(
        404,
        `The model '${model}' does not exist or you do not have access to it: deploy it on a dedicated endpoint first.`,
        'invalid_request_error',
        'model_not_found',
        'model',
      );
    }
    const replicas = endpoints.flatMap((e) =>
      e.replicas.map((replica) => ({
        endpointId: e.endpointId,
        replica,
        contextLength: e.contextLength,
      })),
    );
    if (replicas.length === 0) {
      const statuses = endpoints.map((e) => e.status);
      const stopped = statuses.every((status) =>
        ['stopping', 'stopped', 'failed', 'deleting'].includes(status),
      );
      throw new OpenAiError(
        503,
        stopped
          ? `The model '${model}' is not being served (endpoint ${statuses.join(', ')}): start its endpoint.`
          : `The model '${model}' has no ready replica now (endpoint ${statuses.join(', ')}); retry shortly.`,
        'server_error',
        'model_not_ready',
        'model',
        { endpoint_status: statuses },
        { 'Retry-After': stopped ? '60' : '5' },
      );
    }
    return this.pick(tenantId, replicas);
  }

  /**
   * Another ready replica for a request whose replica could not be reached: one not in `tried`
   * (replica URLs), round-robin; undefined when there is none.
   */
  async alternative(
    tenantId: string,
    model: string,
    tried: readonly string[],
  ): Promise<Route | undefined> {
    const routes = await this.routesOf(tenantId);
    const replicas = (routes.byModel.get(model) ?? []).flatMap((e) =>
      e.replicas
        .filter((replica) => !tried.includes(replica.url))
        .map((replica) => ({ endpointId: e.endpointId, replica, contextLength: e.contextLength })),
    );
    return replicas.length > 0 ? this.pick(tenantId, replicas) : undefined;
  }

  /**
   * Passes over a tenant's replica that could not be reached for {@link UNREACHABLE_MS}, whatever
   * the routes read from PostgreSQL meanwhile say (the reconciler may not have noticed yet), as
   * long as another replica of the model can serve; when none can, it is chosen again (it may
   * be back).
   */
  unreachable(tenantId: string, replicaUrl: string): void {
    const now = Date.now();
    for (const [key, until] of this.unreachableUntil) {
      if (until <= now) this.unreachableUntil.delete(key);
    }
    this.unreachableUntil.set(`${tenantId} ${replicaUrl}`, now + UNREACHABLE_MS);
  }

  private pick(
    tenantId: string,
    replicas: { endpointId: string; replica: Replica; contextLength: number }[],
  ): Route {
    if (this.unreachableUntil.size > 0) {
      const now = Date.now();
      const reachable = replicas.filter(
        ({ replica }) => (this.unreachableUntil.get(`${tenantId} ${replica.url}`) ?? 0) <= now,
      );
      if (reachable.length > 0) replicas = reachable;
    }
    const chosen = replicas[this.turn++ % replicas.length];
    if (this.turn > 1e9) this.turn = 0;
    return {
      endpointId: chosen.endpointId,
      replicaUrl: chosen.replica.url,
      replicaAddress: chosen.replica.address,
      replicaPort: chosen.replica.port,
      contextLength: chosen.contextLength,
    };
  }

  /** The models a tenant can call now (`GET /v1/models`). */
  async models(tenantId: string): Promise<{ id: string; endpointIds: string[] }[]> {
    const routes = await this.routesOf(tenantId);
    return [...routes.byModel.entries()]
      .filter(([, endpoints]) => endpoints.some((e) => e.replicas.length > 0))
      .map(([id, endpoints]) => ({ id, endpointIds: endpoints.map((e) => e.endpointId) }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * A tenant's routes: the cached copy while it is fresh; past half its life it is still used
   * while one background reload replaces it (no request waits on PostgreSQL in steady traffic);
   * past its life requests wait for the one reload in flight.
   */
  private async routesOf(tenantId: string): Promise<TenantRoutes> {
    const entry = this.tenants.get(tenantId) ?? {};
    this.tenants.set(tenantId, entry);
    const now = Date.now();
    const routes = entry.routes;
    if (routes && now < routes.expiresAtMs) {
      if (now >= routes.refreshAtMs) this.reload(tenantId, entry).catch(() => undefined);
      return routes;
    }
    return this.reload(tenantId, entry);
  }

  /** One load at a time per tenant; its result replaces the cached copy. */
  private reload(tenantId: string, entry: CacheEntry): Promise<TenantRoutes> {
    entry.loading ??= this.load(tenantId, Date.now())
      .then((routes) => (entry.routes = routes))
      .finally(() => (entry.loading = undefined));
    return entry.loading;
  }

  private async load(tenantId: string, now: number): Promise<TenantRoutes> {
    const rows: (Pick<Endpoint, 'id' | 'modelId' | 'status' | 'observed'> & {
      contextLength: number;
    })[] = await this.db.inTenant(asTenantId(tenantId), (manager) =>
      manager.query(
        `SELECT e.id, e.model_id AS "modelId", e.status, e.observed,
                  coalesce(m.context_length, 0) AS "contextLength"
             FROM endpoints e LEFT JOIN catalog_models m ON m.id = e.model_id
            WHERE e.tenant_id = $1 AND e.status <> 'deleted'`,
        [tenantId],
      ),
    );
    const byModel: TenantRoutes['byModel'] = new Map();
    for (const row of rows) {
      const ready = (row.observed?.replicas ?? []).filter((r) => r.ready);
      const own = ready.filter((r) => r.url).map((r) => replicaOf(r.url as string));
      // A provider with a stable address in front of the ready replicas (the kubernetes
      // provider's Service) gives them none of their own: while one is ready, that address is
      // where the requests go.
      const front = row.observed?.url;
      const replicas = own.length === 0 && ready.length > 0 && front ? [replicaOf(front)] : own;
      const list = byModel.get(row.modelId) ?? [];
      list.push({
        endpointId: row.id,
        status: row.status,
        replicas,
        contextLength: row.contextLength,
      });
      byModel.set(row.modelId, list);
    }
    const ttl = this.config.GATEWAY_ROUTE_CACHE_TTL_MS;
    return { byModel, refreshAtMs: now + ttl / 2, expiresAtMs: now + ttl };
  }
}

/** A replica's URL with its host and port read once (a malformed URL still fails at request time). */
function replicaOf(url: string): Replica {
  try {
    const parsed = new URL(url);
    const port = Number(parsed.port) || (parsed.protocol === 'https:' ? 443 : 80);
    return { url, address: parsed.hostname, port };
  } catch {
    return { url, address: '', port: 0 };
  }
}
