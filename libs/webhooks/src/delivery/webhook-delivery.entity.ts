import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { WebhookDeliveryStatus } from '../webhooks.constants';

/**
 * One event for one endpoint: a row of the delivery outbox, written in the transaction that
 * produced the event (WebhookService.enqueue) and worked off by the dispatcher.
 */
@Entity('webhook_deliveries')
export class WebhookDelivery {
  /** Also the `webhook-id` header and the body's `id`, the same on every attempt. */
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'uuid' })
  endpointId!: string;

  @Column({ type: 'text' })
  eventType!: string;

  /** The event's `data`. */
  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ type: 'text' })
  status!: WebhookDeliveryStatus;

  /** Attempts started so far. */
  @Column({ type: 'integer' })
  attempts!: number;

  /** `pending`: when the next attempt is due; `delivering`: when the claim expires; else null. */
  @Column({ type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ type: 'integer', nullable: true })
  lastStatusCode!: number | null;

  @Column({ type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;
}
