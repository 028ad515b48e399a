import type { TenantId } from '@app/authz';
import type { EntityManager } from 'typeorm';
import type { LatencyHistogram } from '../histogram/latency-histogram';

/** One endpoint's figures for one SLA minute (`sla_minutes`). */
export interface MinuteRow {
  endpointId: string;
  /** Start of the minute, epoch ms. */
  minute: number;
  requests: number;
  errors: number;
  probes: number;
  probeFailures: number;
  ttfbHist: LatencyHistogram;
  totalHist: LatencyHistogram;
  probeError: string | null;
}

/**
 * SQL condition of a bad minute (README, "SLA"): a probe failed, or more than `threshold`
 * percent (a parameter placeholder) of its requests failed.
 */
export const badMinuteSql = (threshold: string) =>
  `(probe_failures > 0 OR (requests > 0 AND errors * 100.0 > ${threshold} * requests))`;

/** The same rule in TypeScript, for the evaluation. */
export function isBadMinute(row: MinuteRow, thresholdPercent: number): boolean {
  return (
    row.probeFailures > 0 ||
    (row.requests > 0 && row.errors * 100 > thresholdPercent * row.requests)
  );
}

/** The tenant's minute rows in [from, to), by minute. Runs in the caller's transaction. */
export async function minuteRows(
  manager: EntityManager,
  tenantId: TenantId,
  from: Date,
  to: Date,
): Promise<MinuteRow[]> {
  const rows: {
    endpoint_id: string;
    minute: Date;
    requests: number;
    errors: number;
    probes: number;
    probe_failures: number;
    ttfb_hist: LatencyHistogram;
    total_hist: LatencyHistogram;
    probe_error: string | null;
  }[] = await manager.query(
    `SELECT endpoint_id, minute, requests, errors, probes, probe_failures, ttfb_hist, total_hist, probe_error
       FROM sla_minutes WHERE tenant_id = $1 AND minute >= $2 AND minute < $3
      ORDER BY minute, endpoint_id`,
    [tenantId, from, to],
  );
  return rows.map((row) => ({
    endpointId: row.endpoint_id,
    minute: row.minute.getTime(),
    requests: row.requests,
    errors: row.errors,
    probes: row.probes,
    probeFailures: row.probe_failures,
    ttfbHist: row.ttfb_hist,
    totalHist: row.total_hist,
    probeError: row.probe_error,
  }));
}

/** Starts (epoch ms) of each endpoint's bad minutes in [from, to). Caller's transaction. */
export async function badMinuteStarts(
  manager: EntityManager,
  tenantId: TenantId,
  from: Date,
  to: Date,
  thresholdPercent: number,
): Promise<Map<string, number[]>> {
  const rows: { endpoint_id: string; minute: Date }[] = await manager.query(
    `SELECT endpoint_id, minute FROM sla_minutes
      WHERE tenant_id = $1 AND minute >= $2 AND minute < $3 AND ${badMinuteSql('$4')}`,
    [tenantId, from, to, thresholdPercent],
  );
  const byEndpoint = new Map<string, number[]>();
  for (const row of rows) {
    const list = byEndpoint.get(row.endpoint_id) ?? [];
    list.push(row.minute.getTime());
    byEndpoint.set(row.endpoint_id, list);
  }
  return byEndpoint;
}
