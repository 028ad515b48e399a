import { percentOf } from './quota-status.service';

describe('percentOf', () => {
  it.each([
    [5n, 3n, 166.67],
    [1n, 3n, 33.33],
    [2n, 3n, 66.67],
    [1n, 8n, 12.5],
    // 1/800 = 0.125 %: exactly half a hundredth rounds up.
    [1n, 800n, 0.13],
    [1n, 1600n, 0.06],
    [0n, 7n, 0],
    [300n, 1000n, 30],
    [4n, 3n, 133.33],
  ])('%s of %s is %s %%, rounded half up to two decimals', (used, limit, percent) => {
    expect(percentOf(used, limit)).toBe(percent);
  });

  it('handles usage far beyond 2^53 without throwing', () => {
    const used = 2n ** 70n;
    expect(percentOf(used, 1n)).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    expect(Number.isFinite(percentOf(used, 1n))).toBe(true);
  });
});
