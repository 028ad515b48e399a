import { AuditService } from '@app/audit';
import { TenantDb, TenantId } from '@app/authz';
import { Actor, actorRef, clampToSafeInteger, Page, tenantRowsNewestFirst } from '@app/core';
import { ContractService, QuotaLineStatus, QuotaStatusService } from '@app/tenancy';
import { WebhookService } from '@app/webhooks';
import { Injectable, Logger } from '@nestjs/common';
import { QuotaAlert, QuotaAlertSettings } from './quota-alert.entity';

/** Thresholds when a tenant has set none, percent of a line's limit (the metering issue). */
export const DEFAULT_ALERT_THRESHOLDS = [80, 100] as const;
/** The audit action and webhook event type of an alert. */
export const QUOTA_ALERT_EVENT = 'quota.threshold_reached' as const;

/** What an alert says (audit `changes.after` and the webhook's `data`). */
export interface QuotaAlertPayload {
  alertId: string;
  tenantId: string;
  contractId: string;
  metric: string;
  period: string;
  enforcement: string;
  /** Percent of the limit that was reached. */
  threshold: number;
  limit: number;
  /** Usage in the period when the alert was raised, capped at 2^53 − 1. */
  used: number;
  percent: number;
  periodStart: string;
  periodEnd: string;
}

/**
 * Quota alerts: when a line's usage in a period reaches one of the tenant's thresholds
 * (default 80 % and 100 %), one alert per (line, period, threshold), recorded in `quota_alerts`,
 * appended to the tenant's audit chain by the system actor and queued as a signed webhook
 * (`quota.threshold_reached`), all in one transaction: either all three happen or none, and a
 * second sweep finds the alert already recorded. Checked by the worker every
 * QUOTA_ALERT_INTERVAL_MS (the alerts' lag), from the same ledger quota status reads.
 */
@Injectable()
export class QuotaAlertsService {
  private readonly logger = new Logger('QuotaAlerts');

  constructor(
    private readonly db: TenantDb,
    private readonly quotaStatus: QuotaStatusService,
    private readonly contracts: ContractService,
    private readonly audit: AuditService,
    private readonly webhooks: WebhookService,
  ) {}

  /** The tenant's thresholds (ascending percentages), or the defaults. Current transaction. */
  async thresholds(tenantId: TenantId): Promise<{ thresholds: number[]; custom: boolean }> {
    const row = await this.db.manager.getRepository(QuotaAlertSettings).findOneBy({ tenantId });
    return row
      ? { thresholds: row.thresholds, custom: true }
      : { thresholds: [...DEFAULT_ALERT_THRESHOLDS], custom: false };
  }

  /** Replaces the tenant's thresholds (validated by the DTO). Current transaction. */
  async setThresholds(tenantId: TenantId, thresholds: number[], by: Actor): Promise<number[]> {
    const sorted = [...new Set(thresholds)].sort((a, b) => a - b);
    await this.db.manager
      .getRepository(QuotaAlertSettings)
      .upsert({ tenantId, thresholds: sorted, updatedAt: new Date(), updatedBy: actorRef(by) }, [
        'tenantId',
      ]);
    return sorted;
  }

  /** Alerts sent to the tenant, newest first. Current transaction. */
  list(tenantId: TenantId, limit: number, after?: string): Promise<Page<QuotaAlert>> {
    return tenantRowsNewestFirst(this.db.manager, QuotaAlert, tenantId, limit, after);
  }

  /**
   * Checks every tenant with a contract in force, each in its own scope and transaction.
   *
   * @returns how many alerts were raised
   */
  async sweep(at = new Date()): Promise<number> {
    const tenants = await this.db.run(
      { kind: 'platform', reason: 'quota alerts: tenants with a contract in force' },
      () => this.contracts.tenantsInForce(at),
      { readOnly: true },
    );
    let raised = 0;
    for (const tenantId of tenants) {
      try {
        raised += (await this.evaluate(tenantId, at)).length;
      } catch (error) {
        // One tenant's failure must not starve the others; the next sweep retries it.
        this.logger.warn({ tenantId, err: error }, 'quota alert check failed');
      }
    }
    return raised;
  }

  /** Raises the tenant's due alerts in one transaction; returns them. */
  evaluate(tenantId: TenantId, at = new Date()): Promise<QuotaAlertPayload[]> {
    return this.db.run({ kind: 'tenant', tenantId }, async () => {
      const status = await this.quotaStatus.status(tenantId, at);
      if (!status.contract) return [];
      const { thresholds } = await this.thresholds(tenantId);
      const raised: QuotaAlertPayload[] = [];
      for (const line of status.lines) {
        for (const threshold of thresholds) {
          // Exactly, not by the rounded percent: 999,950 of 1,000,000 is not 100 %.
          if (line.used * 100n < BigInt(threshold) * BigInt(line.limit)) break;
          const alert = await this.record(tenantId, status.contract.id, line, threshold);
          if (alert) raised.push(alert);
        }
      }
      return raised;
    });
  }

  private async record(
    tenantId: TenantId,
    contractId: string,
    line: QuotaLineStatus,
    threshold: number,
  ): Promise<QuotaAlertPayload | undefined> {
    const used = clampToSafeInteger(line.used);
    const inserted: { id: string }[] = await this.db.manager.query(
      `INSERT INTO quota_alerts (tenant_id, contract_id, metric, period, period_start, period_end,
         threshold, enforcement, quota_limit, used)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        tenantId,
        contractId,
        line.metric,
        line.period,
        line.periodStart,
        line.periodEnd,
        threshold,
        line.enforcement,
        line.limit,
        used,
      ],
    );
    if (inserted.length === 0) return undefined;
    const payload: QuotaAlertPayload = {
      alertId: inserted[0].id,
      tenantId,
      contractId,
      metric: line.metric,
      period: line.period,
      enforcement: line.enforcement,
      threshold,
      limit: line.limit,
      used,
      percent: line.percent,
      periodStart: line.periodStart.toISOString(),
      periodEnd: line.periodEnd.toISOString(),
    };
    await this.audit.append(this.db.manager, {
      tenantId,
      actor: { type: 'system', id: 'quota-alerts' },
      action: QUOTA_ALERT_EVENT,
      resource: { type: 'quota_line', id: `${line.metric}/${line.period}` },
      outcome: 'success',
      reason: `${line.metric} (${line.period}, ${line.enforcement}) reached ${threshold} % of ${line.limit}: ${used} used`,
      changes: { after: payload },
    });
    await this.webhooks.enqueue(tenantId, QUOTA_ALERT_EVENT, { ...payload });
    return payload;
  }
}
