/**
 * Event types a webhook endpoint can subscribe to: `quota.threshold_reached` (metering),
 * `sla.burn_rate_alert` (SLA) and `webhook.test` (`POST .../webhook-endpoints/{id}/test`).
 */
export const WEBHOOK_EVENT_TYPES = [
  'quota.threshold_reached',
  'sla.burn_rate_alert',
  'webhook.test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WEBHOOK_ENDPOINT_STATUSES = ['enabled', 'disabled'] as const;
export type WebhookEndpointStatus = (typeof WEBHOOK_ENDPOINT_STATUSES)[number];

/**
 * A delivery's states: `pending` (due at `next_attempt_at`) → `delivering` (claimed by a worker)
 * → `delivered`, or back to `pending` for a retry, or `failed` after the last attempt (or when its
 * endpoint was disabled by the time it came due).
 */
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivering', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/** Queue and job names of the webhooks library (STYLE.md: in one place, payloads keyed by name). */
export const WEBHOOKS_QUEUE = 'webhooks';
export const WEBHOOK_DISPATCH_JOB = 'dispatch';
/** The job id of the dispatch queued right after a commit that enqueued deliveries (deduped). */
export const WEBHOOK_DISPATCH_NOW_JOB_ID = 'dispatch-now';

export interface WebhookJobs {
  /**
   * Platform-wide: claims due deliveries of every tenant. `tenantId` is set when a commit in that
   * tenant queued it (for tracing); the work itself is not limited to it.
   */
  [WEBHOOK_DISPATCH_JOB]: { scheduledBy: string; tenantId?: string };
}
