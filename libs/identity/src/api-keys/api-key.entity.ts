import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A key's rate limits, per minute (fixed windows; metering enforces them on the gateway's
 * reservations). An absent limit is unlimited. Shape checked in the database too
 * (`api_keys_rate_limits_shape`).
 */
export interface ApiKeyRateLimits {
  /** Requests per minute, 1 … 1,000,000. */
  requestsPerMinute?: number;
  /** Tokens (the reservation's metric, usually `total_tokens`) per minute, 1 … 1,000,000,000. */
  tokensPerMinute?: number;
}

/**
 * An API key. The secret is never stored: only its SHA-256 (`secretHash`, unique, used for
 * lookup; the secret has 256 random bits, so a fast hash is safe) and a public `prefix` that
 * people use to recognise the key.
 */
@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The first 16 characters of the key, e.g. `cp_live_Ab3dE6gH`. */
  @Column({ type: 'text' })
  prefix!: string;

  @Column({ type: 'bytea', select: false })
  secretHash!: Buffer;

  @Column({ type: 'text', array: true })
  roles!: string[];

  @Column({ type: 'text', array: true })
  scopes!: string[];

  @Column({ type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  /** Null: no rate limit. */
  @Column({ type: 'jsonb', nullable: true })
  rateLimits!: ApiKeyRateLimits | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  rotatedAt!: Date | null;

  /** `user:<id>` or `api_key:<id>` of whoever created it (`system:bootstrap` for the first). */
  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
