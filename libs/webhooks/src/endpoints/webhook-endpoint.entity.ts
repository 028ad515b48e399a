import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { WebhookEndpointStatus, WebhookEventType } from '../webhooks.constants';

/**
 * Where a tenant wants events sent. The signing secret is stored only sealed
 * (`secretCiphertext`, AES-256-GCM bound to the row's tenant and id, see SecretBox) and never
 * selected unless asked for.
 */
@Entity('webhook_endpoints')
export class WebhookEndpoint {
  /** Chosen by the service before the insert: the sealed secret is bound to it. */
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  url!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'text', array: true })
  eventTypes!: WebhookEventType[];

  @Column({ type: 'text' })
  status!: WebhookEndpointStatus;

  @Column({ type: 'bytea', select: false })
  secretCiphertext!: Buffer;

  @Column({ type: 'timestamptz', nullable: true })
  secretRotatedAt!: Date | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** `user:<id>` or `api_key:<id>`. */
  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  @Column({ type: 'text', nullable: true })
  updatedBy!: string | null;
}
