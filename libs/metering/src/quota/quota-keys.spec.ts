import { asTenantId } from '@app/authz';
import { randomBytes, randomUUID } from 'node:crypto';
import { newReservationId, parseReservationId, signedReservationId } from './quota-keys';

describe('reservation ids', () => {
  const key = randomBytes(32);
  const tenantId = asTenantId(randomUUID());
  const counters = [
    { kind: 'day' as const, periodStartMs: 1_700_000_000_000 },
    { kind: 'term' as const, periodStartMs: 1_690_000_000_000 },
  ];

  it('carries a rate-limit window after the counters, and parses back', () => {
    const eventId = randomUUID();
    const window = { key: randomUUID(), windowStartMs: 1_700_000_040_000, tokens: 1234 };
    const { member } = newReservationId(tenantId, 'total_tokens', 5, 10, counters, eventId, window);
    expect(member).toMatch(
      /\.day:1700000000000,term:1690000000000\.rl=[0-9a-f-]{36}:1700000040000:1234$/,
    );
    const parsed = parseReservationId(signedReservationId(member, key), key);
    expect(parsed).toEqual({
      member,
      ref: { tenantId, metric: 'total_tokens', occurredAtMs: 5, eventId },
    });
  });

  it('takes a window without counters (a metric no line covers)', () => {
    const window = { key: 'k_1', windowStartMs: 60_000, tokens: 0 };
    const { member } = newReservationId(tenantId, 'total_tokens', 5, 10, [], undefined, window);
    expect(member).toMatch(/\.10\.rl=k_1:60000:0$/);
    expect(parseReservationId(signedReservationId(member, key), key)?.member).toBe(member);
  });

  it('still reads ids issued before rate limits existed', () => {
    const { member } = newReservationId(tenantId, 'requests', 5, 1, counters);
    expect(parseReservationId(signedReservationId(member, key), key)?.member).toBe(member);
  });

  it('refuses an id whose window was altered after signing', () => {
    const window = { key: 'k', windowStartMs: 60_000, tokens: 100 };
    const { member } = newReservationId(
      tenantId,
      'total_tokens',
      5,
      10,
      counters,
      undefined,
      window,
    );
    const forged = signedReservationId(member, key).replace(':100~', ':1~');
    expect(parseReservationId(forged, key)).toBeUndefined();
  });
});
