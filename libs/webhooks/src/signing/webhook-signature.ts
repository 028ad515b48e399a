import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** Prefix of a Standard Webhooks secret; the rest is the key in base64. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** A new signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks, "Signing secrets"). */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The headers that sign one delivery attempt. */
export interface WebhookSignatureHeaders {
  /** The delivery id, the same on every attempt (receivers deduplicate on it). */
  'webhook-id': string;
  /** When this attempt was signed, in Unix seconds. */
  'webhook-timestamp': string;
  /** `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the secret's decoded bytes>`. */
  'webhook-signature': string;
}

/**
 * Signs `body` (the exact bytes sent) as the Standard Webhooks specification says
 * (https://www.standardwebhooks.com, "Signature scheme"), with its reference library.
 *
 * @param secret `whsec_<base64>`
 * @param at the attempt's time; the header carries it in whole seconds
 */
export function signWebhook(
  secret: string,
  id: string,
  at: Date,
  body: string,
): WebhookSignatureHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}
