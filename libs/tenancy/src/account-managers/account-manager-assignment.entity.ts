import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** Operator staff (an account manager) acting for a tenant. */
@Entity('account_manager_assignments')
export class AccountManagerAssignment {
  @PrimaryColumn({ type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'uuid' })
  userId!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;
}
