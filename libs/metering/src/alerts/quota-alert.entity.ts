import { BIGINT_AS_NUMBER } from '@app/core';
import type { QuotaEnforcement, QuotaMetric, QuotaPeriodKind } from '@app/tenancy';
import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A tenant's quota alert thresholds (percent of a line's limit). */
@Entity('quota_alert_settings')
export class QuotaAlertSettings {
  @PrimaryColumn({ type: 'uuid' })
  tenantId!: string;

  /** Ascending percentages, 1-1000 (soft lines may pass 100 %). */
  @Column({ type: 'smallint', array: true })
  thresholds!: number[];

  @Column({ type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  @Column({ type: 'text', nullable: true })
  updatedBy!: string | null;
}

/**
 * An alert sent: a quota line reached a threshold in one period. Sent once per line, period,
 * limit and threshold (an amendment changing the limit re-arms the thresholds).
 */
@Entity('quota_alerts')
export class QuotaAlert {
  @Column({ type: 'uuid', unique: true, default: () => 'gen_random_uuid()' })
  id!: string;

  @PrimaryColumn({ type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'text' })
  metric!: QuotaMetric;

  @PrimaryColumn({ type: 'text' })
  period!: QuotaPeriodKind;

  @PrimaryColumn({ type: 'timestamptz' })
  periodStart!: Date;

  @PrimaryColumn({ type: 'smallint' })
  threshold!: number;

  @Column({ type: 'uuid' })
  contractId!: string;

  @Column({ type: 'timestamptz' })
  periodEnd!: Date;

  @Column({ type: 'text' })
  enforcement!: QuotaEnforcement;

  @PrimaryColumn({ type: 'bigint', transformer: BIGINT_AS_NUMBER })
  quotaLimit!: number;

  /** Usage when the alert was raised, capped at 2^53 − 1. */
  @Column({ type: 'bigint', transformer: BIGINT_AS_NUMBER })
  used!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
