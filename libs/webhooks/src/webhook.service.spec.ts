import { eventDataJson, MAX_WEBHOOK_DATA_BYTES } from './webhook.service';

describe('webhook event data as JSON', () => {
  it('writes bigints as exact numbers, Dates as ISO 8601, and drops undefined fields', () => {
    const json = eventDataJson({
      used: 2n ** 64n,
      at: new Date('2026-12-01T00:00:00Z'),
      nested: [{ a: 1, skip: undefined }, null, 'x'],
      gone: undefined,
    });
    expect(json).toBe(
      '{"used":18446744073709551616,"at":"2026-12-01T00:00:00.000Z","nested":[{"a":1},null,"x"]}',
    );
  });

  it.each([
    ['an array', [1]],
    ['null', null],
    ['a string', 'x'],
  ])('refuses %s as data', (_name, data) => {
    expect(() => eventDataJson(data as unknown as Record<string, unknown>)).toThrow(/JSON object/);
  });

  it('refuses what JSON cannot carry, and data over the size limit', () => {
    expect(() => eventDataJson({ n: Number.NaN })).toThrow(/JSON cannot carry/);
    expect(() => eventDataJson({ f: () => 1 })).toThrow(/JSON cannot carry/);
    expect(() => eventDataJson({ s: 'x'.repeat(MAX_WEBHOOK_DATA_BYTES) })).toThrow(/bytes/);
  });
});
