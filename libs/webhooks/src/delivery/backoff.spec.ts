import { retryDelayMs } from './backoff';

describe('webhook retry backoff', () => {
  it('follows 10 s, 30 s, 2 min, 10 min, 1 h, 2 h, then 4 h with the default base (no jitter at 0.5)', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => retryDelayMs(n, 10_000, middle))).toEqual([
      10_000, 30_000, 120_000, 600_000, 3_600_000, 7_200_000, 14_400_000, 14_400_000, 14_400_000,
    ]);
  });

  it('jitters by at most 20 % either way', () => {
    expect(retryDelayMs(1, 10_000, () => 0)).toBe(8000);
    expect(retryDelayMs(1, 10_000, () => 0.999999)).toBe(12_000);
    for (let i = 0; i < 200; i += 1) {
      const delay = retryDelayMs(2, 1000);
      expect(delay).toBeGreaterThanOrEqual(2400);
      expect(delay).toBeLessThanOrEqual(3600);
    }
  });

  it('scales with the configured base', () => {
    expect(retryDelayMs(3, 50, () => 0.5)).toBe(600);
  });
});
