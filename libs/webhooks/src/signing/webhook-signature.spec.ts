import { createHmac } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { newWebhookSecret, signWebhook } from './webhook-signature';

const ID = 'a7f3c6f0-3b1e-4c55-9f62-1d2e3f4a5b6c';
const BODY = '{"id":"a7f3c6f0-3b1e-4c55-9f62-1d2e3f4a5b6c","type":"webhook.test","data":{"n": 1}}';

describe('webhook signatures (Standard Webhooks)', () => {
  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('verifies with the same secret through the reference library', () => {
    const secret = newWebhookSecret();
    const headers = signWebhook(secret, ID, new Date(), BODY);
    expect(new Webhook(secret).verify(BODY, { ...headers })).toEqual(JSON.parse(BODY));
  });

  it('is HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the decoded secret (checked with node:crypto)', () => {
    const secret = newWebhookSecret();
    const at = new Date('2026-12-01T10:00:00.750Z');
    const headers = signWebhook(secret, ID, at, BODY);
    expect(headers['webhook-timestamp']).toBe('1796119200');
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(`${ID}.1796119200.${BODY}`)
      .digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('fails verification with a wrong secret', () => {
    const headers = signWebhook(newWebhookSecret(), ID, new Date(), BODY);
    expect(() => new Webhook(newWebhookSecret()).verify(BODY, { ...headers })).toThrow(
      WebhookVerificationError,
    );
  });

  it('fails verification of a tampered body, id or timestamp', () => {
    const secret = newWebhookSecret();
    const at = new Date();
    const headers = signWebhook(secret, ID, at, BODY);
    const wh = new Webhook(secret);
    expect(() => wh.verify(BODY.replace('"n": 1', '"n": 2'), { ...headers })).toThrow(
      WebhookVerificationError,
    );
    expect(() => wh.verify(BODY, { ...headers, 'webhook-id': `${ID}x` })).toThrow(
      WebhookVerificationError,
    );
    expect(() =>
      wh.verify(BODY, {
        ...headers,
        'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1),
      }),
    ).toThrow(WebhookVerificationError);
  });
});
