import { parseInstant } from './instant';

describe('parseInstant (RFC 3339 date-time)', () => {
  it.each([
    ['2027-01-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01T09:00:00+09:00', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01t00:00:00.123456z', '2027-01-01T00:00:00.123Z'],
    ['2028-02-29T12:00:00-05:00', '2028-02-29T17:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseInstant(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2027-01-01',
    '2027-01-01T00:00:00',
    '2027-02-30T00:00:00Z',
    '2027-02-29T00:00:00Z',
    '2027-13-01T00:00:00Z',
    '2027-01-01T24:30:00Z',
    'tomorrow',
    '',
  ])('refuses %s', (text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  it('refuses non-strings', () => {
    expect(parseInstant(1893456000000)).toBeUndefined();
    expect(parseInstant(null)).toBeUndefined();
  });
});
