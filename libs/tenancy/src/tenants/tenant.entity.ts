import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { ComplianceProfile } from '../compliance/compliance-profile';
import type { TenantStatus } from './tenant-lifecycle';

/** A customer of the operator (or, `kind = 'platform'`, the operator itself). */
@Entity('tenants')
export class Tenant {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** URL-safe handle, unique: lowercase letters, digits and inner hyphens, 1-63 characters. */
  @Column({ type: 'text' })
  slug!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  kind!: 'customer' | 'platform';

  @Column({ type: 'text' })
  status!: TenantStatus;

  /** Why the status last changed (e.g. the suspension reason). */
  @Column({ type: 'text', nullable: true })
  statusReason!: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  statusChangedAt!: Date | null;

  /** IANA time zone that anchors contract periods, e.g. `Europe/Berlin`; default `UTC`. */
  @Column({ type: 'text' })
  billingTimeZone!: string;

  /** The profile in force (the latest version); older versions in `compliance_profile_versions`. */
  @Column({ type: 'jsonb' })
  complianceProfile!: Partial<ComplianceProfile>;

  @Column({ type: 'integer' })
  complianceProfileVersion!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}

/** One version of a tenant's compliance profile (append-only history). */
@Entity('compliance_profile_versions')
export class ComplianceProfileVersion {
  @Column({ type: 'uuid', primary: true })
  tenantId!: string;

  @Column({ type: 'integer', primary: true })
  version!: number;

  @Column({ type: 'jsonb' })
  profile!: ComplianceProfile;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;
}
