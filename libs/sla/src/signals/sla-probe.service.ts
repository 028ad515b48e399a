import { TenantDb } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { EndpointDirectory, ProbeTarget } from '@app/endpoints';
import { Injectable, Logger } from '@nestjs/common';
import { SlaClock } from '../sla-clock';
import { SlaMetrics } from '../sla-metrics';

/** One probe's outcome. */
export interface ProbeResult {
  tenantId: string;
  endpointId: string;
  probedAt: Date;
  ok: boolean;
  /** Time of the health check and the one-token completion together, whole ms. */
  latencyMs: number;
  /** Why it failed (at most 300 characters), null when ok. */
  error: string | null;
}

const PROBE_PROMPT = 'ping';

/**
 * Synthetic probes (issue 11, "Signals"): for every endpoint that should be serving, `GET
 * /health` and then a one-token request of the endpoint's modality (`/v1/chat/completions`,
 * `/v1/completions` or `/v1/embeddings`, `max_tokens: 1`), each replica within
 * SLA_PROBE_TIMEOUT_MS. The endpoint passes when one of its replicas answers both with 2xx (a
 * replica that died while another serves is partial degradation, seen in the gateway's error
 * rate); it fails when none does or it has none. Results go to `sla_probe_results`, keyed by the
 * job id, so a retried job records nothing twice.
 */
@Injectable()
export class SlaProbeService {
  private readonly logger = new Logger('SlaProbes');

  constructor(
    private readonly db: TenantDb,
    private readonly endpoints: EndpointDirectory,
    private readonly clock: SlaClock,
    private readonly metrics: SlaMetrics,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Probes every serving endpoint at once and records the results.
   *
   * @param probeId the run's id (the job id): a second run with the same id records nothing new
   */
  async probeAll(probeId: string): Promise<ProbeResult[]> {
    const targets = await this.endpoints.probeTargets();
    const results = await Promise.all(targets.map((target) => this.probe(target)));
    const counted = await this.withoutOvertaken(targets, results);
    for (const r of counted) this.metrics.probes.inc({ outcome: r.ok ? 'ok' : 'failed' });
    await this.record(probeId, counted);
    return counted;
  }

  /**
   * Drops failures of endpoints whose desired deployment changed while they were probed (scaled
   * to zero, stopped, deleted, their tenant suspended, a new generation): the probe may have hit
   * a replica being removed on purpose, which is not an outage. Failures of endpoints still
   * asked to serve as before stay.
   */
  private async withoutOvertaken(
    targets: ProbeTarget[],
    results: ProbeResult[],
  ): Promise<ProbeResult[]> {
    if (results.every((r) => r.ok)) return results;
    const now = new Map(
      (await this.endpoints.probeTargets()).map((t) => [t.endpointId, t.desired]),
    );
    const then = new Map(targets.map((t) => [t.endpointId, t.desired]));
    return results.filter((r) => {
      if (r.ok || now.get(r.endpointId) === then.get(r.endpointId)) return true;
      this.metrics.probes.inc({ outcome: 'overtaken' });
      return false;
    });
  }

  /** Probes one endpoint (no recording, no counting). */
  async probe(target: ProbeTarget): Promise<ProbeResult> {
    const probedAt = this.clock.now();
    const started = performance.now();
    let error = target.urls.length === 0 ? 'no replica to probe' : null;
    let ok = false;
    for (const url of target.urls) {
      try {
        await this.probeReplica(url, target);
        ok = true;
        error = null;
        break;
      } catch (failure) {
        error = (failure as Error).message.slice(0, 300);
      }
    }
    const latencyMs = Math.round(performance.now() - started);
    this.metrics.probeDuration.observe(latencyMs / 1000);
    return {
      tenantId: target.tenantId,
      endpointId: target.endpointId,
      probedAt,
      ok,
      latencyMs,
      error,
    };
  }

  private async probeReplica(url: string, target: ProbeTarget): Promise<void> {
    const signal = AbortSignal.timeout(this.config.SLA_PROBE_TIMEOUT_MS);
    const health = await this.call(`${url}/health`, { signal });
    if (!health.ok) throw new Error(`health answered ${health.status}`);
    await health.arrayBuffer();
    const [path, body] =
      target.modality === 'embedding'
        ? ['/v1/embeddings', { model: target.model, input: PROBE_PROMPT }]
        : target.modality === 'completion'
          ? ['/v1/completions', { model: target.model, prompt: PROBE_PROMPT, max_tokens: 1 }]
          : [
              '/v1/chat/completions',
              {
                model: target.model,
                messages: [{ role: 'user', content: PROBE_PROMPT }],
                max_tokens: 1,
              },
            ];
    const answer = await this.call(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    if (!answer.ok) throw new Error(`${path} answered ${answer.status}`);
    await answer.json();
  }

  private async call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      if ((error as Error).name === 'TimeoutError') {
        throw new Error(`no answer within ${this.config.SLA_PROBE_TIMEOUT_MS} ms`);
      }
      throw new Error(`unreachable${cause ? ` (${cause})` : ''}: ${(error as Error).message}`);
    }
  }

  private async record(probeId: string, results: ProbeResult[]): Promise<void> {
    if (results.length === 0) return;
    const column = <T>(pick: (r: ProbeResult) => T) => results.map(pick);
    await this.db.asPlatform('sla: probe results of many tenants', (manager) =>
      manager.query(
        `INSERT INTO sla_probe_results (tenant_id, endpoint_id, probe_id, probed_at, ok, latency_ms, error)
         SELECT t, e, $3, p, o, l, x
           FROM unnest($1::uuid[], $2::uuid[], $4::timestamptz[], $5::boolean[], $6::int[], $7::text[])
             AS r(t, e, p, o, l, x)
         ON CONFLICT DO NOTHING`,
        [
          column((r) => r.tenantId),
          column((r) => r.endpointId),
          probeId.slice(0, 200),
          column((r) => r.probedAt),
          column((r) => r.ok),
          column((r) => r.latencyMs),
          column((r) => r.error),
        ],
      ),
    );
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      this.logger.warn(
        { failed: failed.map((r) => ({ endpointId: r.endpointId, error: r.error })) },
        'SLA probes failed',
      );
    }
  }
}
