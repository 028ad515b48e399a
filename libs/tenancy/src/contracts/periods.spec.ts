import { periodContaining } from './periods';

const d = (iso: string) => new Date(iso);
const iso = (p: { start: Date; end: Date }) => [p.start.toISOString(), p.end.toISOString()];
const year = (termStart: string, timeZone?: string) => ({
  termStart: d(termStart),
  termEnd: new Date(d(termStart).getTime() + 400 * 86_400_000),
  timeZone,
});

describe('periodContaining', () => {
  it('gives the whole term for term lines', () => {
    const term = year('2027-01-01T00:00:00Z');
    expect(periodContaining('term', d('2027-06-01T00:00:00Z'), term)).toEqual({
      start: term.termStart,
      end: term.termEnd,
    });
  });

  it.each([
    // anchor on the 31st: shorter months end on their last day, the next period returns to the 31st
    [
      '2027-01-31T00:00:00Z',
      '2027-02-15T00:00:00Z',
      ['2027-01-31T00:00:00.000Z', '2027-02-28T00:00:00.000Z'],
    ],
    [
      '2027-01-31T00:00:00Z',
      '2027-03-01T00:00:00Z',
      ['2027-02-28T00:00:00.000Z', '2027-03-31T00:00:00.000Z'],
    ],
    [
      '2027-01-31T00:00:00Z',
      '2027-04-29T12:00:00Z',
      ['2027-03-31T00:00:00.000Z', '2027-04-30T00:00:00.000Z'],
    ],
    [
      '2027-01-31T00:00:00Z',
      '2027-04-30T12:00:00Z',
      ['2027-04-30T00:00:00.000Z', '2027-05-31T00:00:00.000Z'],
    ],
    // leap year: February has a 29th
    [
      '2028-01-31T00:00:00Z',
      '2028-02-29T12:00:00Z',
      ['2028-02-29T00:00:00.000Z', '2028-03-31T00:00:00.000Z'],
    ],
    [
      '2028-01-30T00:00:00Z',
      '2028-02-29T23:59:59Z',
      ['2028-02-29T00:00:00.000Z', '2028-03-30T00:00:00.000Z'],
    ],
    // anchors on the 29th and 30th in a non-leap year
    [
      '2027-01-29T00:00:00Z',
      '2027-02-28T10:00:00Z',
      ['2027-02-28T00:00:00.000Z', '2027-03-29T00:00:00.000Z'],
    ],
    [
      '2027-01-30T00:00:00Z',
      '2027-03-29T10:00:00Z',
      ['2027-02-28T00:00:00.000Z', '2027-03-30T00:00:00.000Z'],
    ],
  ])('month lines anchored at %s: %s falls in %j', (anchor, at, expected) => {
    expect(iso(periodContaining('month', d(at), year(anchor)))).toEqual(expected);
  });

  it('starts a Tokyo tenant’s month at local midnight', () => {
    // 2027-01-01T00:00 in Tokyo is 2026-12-31T15:00Z.
    const term = year('2026-12-31T15:00:00Z', 'Asia/Tokyo');
    expect(iso(periodContaining('month', d('2027-01-31T14:59:59Z'), term))).toEqual([
      '2026-12-31T15:00:00.000Z',
      '2027-01-31T15:00:00.000Z',
    ]);
    expect(iso(periodContaining('month', d('2027-01-31T15:00:00Z'), term))).toEqual([
      '2027-01-31T15:00:00.000Z',
      '2027-02-28T15:00:00.000Z',
    ]);
  });

  it('keeps local midnight across a DST change for day lines', () => {
    // Europe/Berlin springs forward on 2027-03-28: that day is 23 hours long.
    const term = year('2026-12-31T23:00:00Z', 'Europe/Berlin');
    expect(iso(periodContaining('day', d('2027-03-28T12:00:00Z'), term))).toEqual([
      '2027-03-27T23:00:00.000Z',
      '2027-03-28T22:00:00.000Z',
    ]);
  });

  it('puts an instant on a period edge in the later period only (half-open)', () => {
    const term = year('2027-01-01T00:00:00Z');
    const edge = d('2027-02-01T00:00:00Z');
    expect(periodContaining('month', edge, term).start).toEqual(edge);
    expect(periodContaining('month', new Date(edge.getTime() - 1), term).end).toEqual(edge);
  });

  it('ends the last period at the end of the term', () => {
    const term = { termStart: d('2027-01-15T00:00:00Z'), termEnd: d('2027-03-01T00:00:00Z') };
    expect(iso(periodContaining('month', d('2027-02-20T00:00:00Z'), term))).toEqual([
      '2027-02-15T00:00:00.000Z',
      '2027-03-01T00:00:00.000Z',
    ]);
  });

  it('refuses instants outside the term and unknown time zones', () => {
    const term = year('2027-01-01T00:00:00Z');
    expect(() => periodContaining('month', d('2026-12-31T23:59:59Z'), term)).toThrow(RangeError);
    expect(() =>
      periodContaining('month', d('2027-02-01T00:00:00Z'), { ...term, timeZone: 'Mars/Olympus' }),
    ).toThrow('unknown time zone');
  });
});
