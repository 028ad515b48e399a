import {
  availabilityOf,
  burnRate,
  countMinutes,
  creditMinorOf,
  creditPercentFor,
  excludedIntervals,
  measuredInterval,
  monthlyFeeMinor,
  monthOf,
  monthWindow,
  previousMonth,
  sumCounts,
} from './availability';

const M = 60_000;
const at = (iso: string) => new Date(iso);
const tiers = [
  { below: 99.9, creditPercent: 10 },
  { below: 99, creditPercent: 25 },
  { below: 95, creditPercent: 100 },
];

describe('SLA arithmetic', () => {
  it('takes calendar months in the tenant time zone, 28 to 31 days long', () => {
    const october = monthWindow('2026-10', 'America/New_York');
    expect(october.start.toISOString()).toBe('2026-10-01T04:00:00.000Z');
    expect(october.end.toISOString()).toBe('2026-11-01T04:00:00.000Z');
    expect((october.end.getTime() - october.start.getTime()) / M).toBe(31 * 1440);
    // November in New York loses its DST hour: 30 days and one hour.
    const november = monthWindow('2026-11', 'America/New_York');
    expect((november.end.getTime() - november.start.getTime()) / M).toBe(30 * 1440 + 60);
    const february = monthWindow('2028-02', 'Asia/Kolkata');
    expect(february.start.toISOString()).toBe('2028-01-31T18:30:00.000Z');
    expect((february.end.getTime() - february.start.getTime()) / M).toBe(29 * 1440);
    expect(monthOf(at('2026-11-01T03:59:00Z'), 'America/New_York')).toBe('2026-10');
    expect(monthOf(at('2026-11-01T04:00:00Z'), 'America/New_York')).toBe('2026-11');
    expect(previousMonth('2027-01')).toBe('2026-12');
    expect(() => monthWindow('2026-13', 'UTC')).toThrow(RangeError);
    expect(() => monthWindow('2026-10', 'Mars/Olympus')).toThrow(RangeError);
  });

  it('measures an endpoint from its creation, until its deletion or the current minute', () => {
    const month = monthWindow('2026-10', 'UTC');
    const created = { createdAt: at('2026-10-16T12:00:30Z'), deletedAt: null };
    const whole = measuredInterval(month, created, at('2026-12-01T00:00:00Z'), M);
    expect(new Date(whole.start).toISOString()).toBe('2026-10-16T12:00:00.000Z');
    expect(whole.end).toBe(month.end.getTime());
    const partial = measuredInterval(month, created, at('2026-10-20T00:00:45Z'), M);
    expect(new Date(partial.end).toISOString()).toBe('2026-10-20T00:00:00.000Z');
    const deleted = measuredInterval(
      month,
      { createdAt: at('2026-09-01T00:00:00Z'), deletedAt: at('2026-10-02T00:00:01Z') },
      at('2026-12-01T00:00:00Z'),
      M,
    );
    expect((deleted.end - deleted.start) / M).toBe(1441);
    const later = measuredInterval(
      month,
      { createdAt: at('2026-11-02T00:00:00Z'), deletedAt: null },
      at('2026-12-01T00:00:00Z'),
      M,
    );
    expect(later.end - later.start).toBe(0);
  });

  it('excludes the minutes maintenance windows touch, once when windows overlap', () => {
    const excluded = excludedIntervals(
      [
        { startsAt: at('2026-10-10T00:00:30Z'), endsAt: at('2026-10-10T01:00:00Z') },
        { startsAt: at('2026-10-10T00:30:00Z'), endsAt: at('2026-10-10T02:00:00Z') },
      ],
      M,
    );
    expect(excluded).toHaveLength(1);
    const interval = {
      start: at('2026-10-01T00:00:00Z').getTime(),
      end: at('2026-11-01T00:00:00Z').getTime(),
    };
    const bad = [
      at('2026-10-10T00:00:00Z').getTime(), // excluded
      at('2026-10-10T01:59:00Z').getTime(), // excluded
      at('2026-10-10T02:00:00Z').getTime(), // bad
      at('2026-10-10T02:00:00Z').getTime(), // the same minute twice
      at('2026-09-30T23:59:00Z').getTime(), // before the window
    ];
    const counts = countMinutes(interval, bad, excluded, M);
    expect(counts).toEqual({
      minutes: 44_640,
      excludedMinutes: 120,
      badMinutes: 1,
      goodMinutes: 44_640 - 120 - 1,
    });
    expect(availabilityOf(counts)).toBeCloseTo((44_519 / 44_520) * 100, 10);
    expect(availabilityOf(sumCounts([]))).toBeNull();
  });

  it('picks the credit tier the availability falls under', () => {
    expect(creditPercentFor(100, tiers)).toBe(0);
    expect(creditPercentFor(99.9, tiers)).toBe(0);
    expect(creditPercentFor(99.89, tiers)).toBe(10);
    expect(creditPercentFor(98.99, tiers)).toBe(25);
    expect(creditPercentFor(50, tiers)).toBe(100);
    expect(creditPercentFor(null, tiers)).toBe(0);
  });

  it('prorates the committed spend to the month and rounds credits half up', () => {
    const term = { start: at('2027-01-01T00:00:00Z'), end: at('2028-01-01T00:00:00Z') };
    const january = monthWindow('2027-01', 'UTC');
    // 31 of 365 days of 120,000,000.
    expect(monthlyFeeMinor(120_000_000, term, january)).toBe(Math.round((120_000_000 * 31) / 365));
    expect(monthlyFeeMinor(120_000_000, term, monthWindow('2026-12', 'UTC'))).toBe(0);
    expect(creditMinorOf(10_191_781, 10)).toBe(1_019_178);
    expect(creditMinorOf(5, 10)).toBe(1); // 0.5 → 1
    expect(creditMinorOf(1000, 12.5)).toBe(125);
  });

  it('measures burn rate against the error budget', () => {
    const counts = { minutes: 60, excludedMinutes: 0, badMinutes: 6, goodMinutes: 54 };
    expect(burnRate(counts, 99)).toBeCloseTo(10, 10);
    expect(burnRate({ ...counts, badMinutes: 0 }, 99)).toBe(0);
    expect(burnRate(counts, 100)).toBe(Infinity);
  });
});
