import { MetricsService } from '@app/core';
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';

/** The SLA library's Prometheus metrics, on the process's `/metrics` (the worker's, mostly). */
@Injectable()
export class SlaMetrics {
  /**
   * Synthetic probes by outcome: `ok`, `failed` (recorded), `overtaken` (failed while the
   * endpoint's desired deployment changed; not recorded).
   */
  readonly probes: Counter<'outcome'>;
  /** Probe duration (health plus a one-token completion), seconds. */
  readonly probeDuration: Histogram;
  /** Bad endpoint-minutes found by the evaluation (outside maintenance windows). */
  readonly badMinutes: Counter;
  /** Incidents opened and closed. */
  readonly incidents: Counter<'event'>;
  /** Open incidents across tenants, as of the last evaluation. */
  readonly openIncidents: Gauge;
  /** Burn-rate alerts fired, by severity (`fast`: 1 h & 5 min at 14.4×; `slow`: 6 h & 30 min at 6×). */
  readonly burnRateAlerts: Counter<'severity'>;
  /** SLA minute rows deleted by the retention (frozen months, past SLA_MINUTES_RETENTION_DAYS). */
  readonly minutesPruned: Counter;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.probes = new Counter({
      name: 'sla_probes_total',
      help: 'SLA probes of dedicated endpoints, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.probeDuration = new Histogram({
      name: 'sla_probe_duration_seconds',
      help: 'Duration of SLA probes (health plus a one-token completion), in seconds.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.badMinutes = new Counter({
      name: 'sla_bad_minutes_total',
      help: 'Bad endpoint-minutes (failed probe or error rate over the threshold), outside maintenance.',
      registers,
    });
    this.incidents = new Counter({
      name: 'sla_incidents_total',
      help: 'SLA incidents opened and closed.',
      labelNames: ['event'],
      registers,
    });
    this.openIncidents = new Gauge({
      name: 'sla_open_incidents',
      help: 'SLA incidents open across tenants at the last evaluation.',
      registers,
    });
    this.burnRateAlerts = new Counter({
      name: 'sla_burn_rate_alerts_total',
      help: 'Error-budget burn-rate alerts fired, by severity.',
      labelNames: ['severity'],
      registers,
    });
    this.minutesPruned = new Counter({
      name: 'sla_minutes_pruned_total',
      help: 'SLA minute rows deleted by the retention (frozen months past the retention).',
      registers,
    });
  }
}
