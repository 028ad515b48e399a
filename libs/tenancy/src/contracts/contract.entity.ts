import { BIGINT_AS_NUMBER } from '@app/core';
import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { BillingModel, QuotaEnforcement, QuotaMetric, SlaTerms } from './contract-terms';
import type { ContractStatus } from './contract-lifecycle';
import type { QuotaPeriodKind } from './periods';

/**
 * An annual (or multi-year) contract between the operator and a tenant. What changes over its
 * life (spend, SLA, quota lines) lives in {@link ContractVersion}s; this row holds the identity,
 * the term and the status.
 */
@Entity('contracts')
export class Contract {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  contractNumber!: string;

  /** As stored; see `effectiveContractStatus` for what the API reports. */
  @Column({ type: 'text' })
  status!: ContractStatus;

  /** The anchor of every period. */
  @Column({ type: 'timestamptz' })
  termStart!: Date;

  /** Exclusive. */
  @Column({ type: 'timestamptz' })
  termEnd!: Date;

  /** When it stops being in force: `termEnd`, or the termination instant. */
  @Column({ type: 'timestamptz' })
  endsAt!: Date;

  /** IANA zone of the periods, copied from the tenant when the contract was drafted. */
  @Column({ type: 'text' })
  billingTimeZone!: string;

  /** ISO 4217 code; null only in an incomplete draft. */
  @Column({ type: 'char', length: 3, nullable: true })
  currency!: string | null;

  /** The contract this one renews. */
  @Column({ type: 'uuid', nullable: true })
  renewalOf!: string | null;

  @Column({ type: 'integer' })
  currentVersion!: number;

  @Column({ type: 'timestamptz', nullable: true })
  activatedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  terminatedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  terminationReason!: string | null;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}

/** One version of a contract's terms: version 1 from the term start, then each amendment. */
@Entity('contract_versions')
export class ContractVersion {
  @PrimaryColumn({ type: 'uuid' })
  contractId!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'timestamptz' })
  effectiveFrom!: Date;

  /** Minor units of the contract's currency; null only in an incomplete draft. */
  @Column({ type: 'bigint', nullable: true, transformer: BIGINT_AS_NUMBER })
  committedSpendMinor!: number | null;

  @Column({ type: 'text', nullable: true })
  billingModel!: BillingModel | null;

  @Column({ type: 'jsonb', nullable: true })
  sla!: SlaTerms | null;

  /** Why the amendment was made. */
  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}

/** A quota line of one contract version. */
@Entity('contract_quota_lines')
export class ContractQuotaLine {
  @PrimaryColumn({ type: 'uuid' })
  contractId!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  /** Order as given. */
  @PrimaryColumn({ type: 'integer' })
  position!: number;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  metric!: QuotaMetric;

  @Column({ type: 'text' })
  period!: QuotaPeriodKind;

  @Column({ type: 'text' })
  enforcement!: QuotaEnforcement;

  /** In the metric's unit (tokens, requests, GPU-hours, endpoints, jobs). */
  @Column({ type: 'bigint', transformer: BIGINT_AS_NUMBER })
  limit!: number;

  /** Minor units per unit over the limit (soft lines). */
  @Column({ type: 'bigint', nullable: true, transformer: BIGINT_AS_NUMBER })
  overageUnitPriceMinor!: number | null;
}
