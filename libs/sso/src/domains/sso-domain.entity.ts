import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A domain a tenant claims; `verified` once its DNS TXT record carried the token. */
@Entity('sso_domains')
export class SsoDomain {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  /** Lowercase, without a trailing dot. */
  @Column({ type: 'text' })
  domain!: string;

  @Column({ type: 'text' })
  status!: 'pending' | 'verified';

  @Column({ type: 'text' })
  verificationToken!: string;

  @Column({ type: 'timestamptz', nullable: true })
  verifiedAt!: Date | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
