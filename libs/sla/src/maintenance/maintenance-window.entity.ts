import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A maintenance window declared in advance; its minutes are excluded from availability. */
@Entity('maintenance_windows')
export class MaintenanceWindow {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'timestamptz' })
  startsAt!: Date;

  /** Exclusive. */
  @Column({ type: 'timestamptz' })
  endsAt!: Date;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;
}
