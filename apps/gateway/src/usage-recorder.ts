import { TenantDb } from '@app/authz';
import { AppConfig, InjectConfig, MetricsService } from '@app/core';
import { QuotaReservationService } from '@app/metering';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { Counter } from 'prom-client';
import { Holds, InferenceMetric, InferenceUsage } from './gateway-quota';
import type { InferenceKind } from './inference-request';

/** A finished request's usage: its holds become used units (usage events in the ledger). */
export interface UsageRecord {
  holds: Holds;
  usage: InferenceUsage;
  endpointId: string;
  apiKeyId: string;
  model: string;
}

/** A finished request's timing, for the SLA library (`inference_samples`). */
export interface RequestSample {
  tenantId: string;
  endpointId: string;
  apiKeyId: string;
  kind: InferenceKind;
  startedAt: Date;
  status: number;
  ttfbMs: number | null;
  totalMs: number;
  promptTokens: number;
  completionTokens: number;
  error: string | null;
}

/**
 * How often buffered records are written, ms. Each flush has a fixed cost (two transactions,
 * about 3 ms of this process's CPU on a small machine), so flushing more often costs CPU per
 * request at low rates: at 450 requests a second a flush every 50 ms cost 2.3 times the CPU per
 * request of one every 200 ms.
 */
const FLUSH_INTERVAL_MS = 200;
const BATCH = 500;
/**
 * Reservations per `commitMany` call (one Redis script and one transaction per tenant). Small
 * enough that the synchronous part of a call (ids parsed and checked, the script's arguments,
 * the ledger statement's parameters) holds the event loop well under a millisecond, which
 * requests in flight would otherwise wait out (a latency tail every flush); calls run one after
 * another.
 */
const COMMIT_BATCH = 128;

/**
 * Records what the gateway served without ever making a response wait or fail on it: commits
 * and samples go to bounded in-memory buffers flushed in batches in the background; when a
 * buffer is full the newest entry is dropped and counted (`gateway_records_dropped_total`). A
 * dropped commit's reservation expires after its TTL, its usage unrecorded; a failed flush is
 * retried by nobody (the same), and logged. Flushed on shutdown.
 */
@Injectable()
export class UsageRecorder implements OnModuleDestroy {
  private readonly logger = new Logger('UsageRecorder');
  private commits: UsageRecord[] = [];
  private samples: RequestSample[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;
  private readonly dropped: Counter<'kind'>;

  constructor(
    private readonly reservations: QuotaReservationService,
    private readonly db: TenantDb,
    metrics: MetricsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.dropped = new Counter({
      name: 'gateway_records_dropped_total',
      help: 'Usage commits and latency samples dropped because the buffer was full.',
      labelNames: ['kind'],
      registers: [metrics.registry],
    });
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  commit(record: UsageRecord): void {
    if (this.commits.length >= this.config.GATEWAY_RECORD_BUFFER) {
      this.dropped.inc({ kind: 'usage' });
      return;
    }
    this.commits.push(record);
    // Out of the request's trace: the flush is everyone's.
    if (this.commits.length >= BATCH) void context.with(ROOT_CONTEXT, () => this.flush());
  }

  sample(sample: RequestSample): void {
    if (this.samples.length >= this.config.GATEWAY_RECORD_BUFFER) {
      this.dropped.inc({ kind: 'sample' });
      return;
    }
    this.samples.push(sample);
  }

  /** Writes what is buffered (one flush at a time). */
  flush(): Promise<void> {
    this.flushing ??= this.flushNow().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    await this.flush();
  }

  private async flushNow(): Promise<void> {
    const commits = this.commits.splice(0, this.commits.length);
    const samples = this.samples.splice(0, this.samples.length);
    // One after the other: two transactions at once would take both of a small machine's cores
    // from the requests in flight.
    await this.writeCommits(commits);
    await this.writeSamples(samples);
  }

  private async writeCommits(records: UsageRecord[]): Promise<void> {
    const items = records.flatMap((record) => {
      // One request's commits share their details.
      const details = {
        endpointId: record.endpointId,
        apiKeyId: record.apiKeyId,
        attributes: { model: record.model },
      };
      return (Object.entries(record.holds) as [InferenceMetric, string][]).map(([metric, id]) => ({
        reservationId: id,
        actualQuantity: record.usage[metric],
        details,
      }));
    });
    for (let start = 0; start < items.length; start += COMMIT_BATCH) {
      const batch = items.slice(start, start + COMMIT_BATCH);
      try {
        const results = await this.reservations.commitMany(batch);
        const failed = results.filter((r) => r.status === 'failed');
        if (failed.length > 0) {
          this.logger.warn(
            { failed: failed.length, err: failed[0].error },
            'usage commits failed; their reservations will expire',
          );
        }
      } catch (error) {
        this.logger.warn({ err: error, count: batch.length }, 'a batch of usage commits failed');
      }
    }
  }

  private async writeSamples(samples: RequestSample[]): Promise<void> {
    if (samples.length === 0) return;
    const column = <T>(pick: (s: RequestSample) => T) => samples.map(pick);
    await this.db
      .asPlatform('gateway: request samples of many tenants', (manager) =>
        manager.query(
          `INSERT INTO inference_samples (tenant_id, endpoint_id, api_key_id, kind, started_at,
             status, ttfb_ms, total_ms, prompt_tokens, completion_tokens, error)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[],
             $6::int[], $7::int[], $8::int[], $9::int[], $10::int[], $11::text[])`,
          [
            column((s) => s.tenantId),
            column((s) => s.endpointId),
            column((s) => s.apiKeyId),
            column((s) => s.kind),
            // ISO text: node-postgres' own Date formatting costs more.
            column((s) => s.startedAt.toISOString()),
            column((s) => s.status),
            column((s) => s.ttfbMs),
            column((s) => s.totalMs),
            column((s) => s.promptTokens),
            column((s) => s.completionTokens),
            column((s) => s.error?.slice(0, 200) ?? null),
          ],
        ),
      )
      .catch((error: unknown) =>
        this.logger.warn({ err: error, count: samples.length }, 'latency samples lost'),
      );
  }
}
