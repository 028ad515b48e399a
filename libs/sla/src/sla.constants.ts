/** Queue and job names of the SLA library (STYLE.md: in one place, payloads keyed by name). */
export const SLA_QUEUE = 'sla';
/** Probes every running dedicated endpoint (health plus a one-token completion). */
export const SLA_PROBE_JOB = 'sla.probe';
/** Rolls samples and probes up per minute, then evaluates incidents and burn-rate alerts. */
export const SLA_EVALUATE_JOB = 'sla.evaluate';
/** Freezes each tenant's previous month into a signed report. */
export const SLA_REPORTS_JOB = 'sla.reports';
/** Deletes SLA minutes past SLA_MINUTES_RETENTION_DAYS whose month is frozen. */
export const SLA_MINUTES_RETENTION_JOB = 'sla.minutes-retention';

export interface SlaJobs {
  /** Platform-wide; each tenant's rows are written in that tenant's scope. */
  [SLA_PROBE_JOB]: { scheduledBy: string };
  [SLA_EVALUATE_JOB]: { scheduledBy: string };
  [SLA_REPORTS_JOB]: { scheduledBy: string };
  [SLA_MINUTES_RETENTION_JOB]: { scheduledBy: string };
}

/** How often the monthly report job looks for months to freeze, ms. */
export const SLA_REPORTS_INTERVAL_MS = 3_600_000;
/** How often the worker applies the SLA minutes retention, ms. */
export const SLA_MINUTES_RETENTION_INTERVAL_MS = 3_600_000;

/** The audit action and webhook event type of a burn-rate alert. */
export const SLA_BURN_RATE_ALERT_EVENT = 'sla.burn_rate_alert' as const;

/** Why a minute affected an incident. */
export const INCIDENT_CAUSES = ['probe_failure', 'error_rate', 'latency'] as const;
export type IncidentCause = (typeof INCIDENT_CAUSES)[number];
