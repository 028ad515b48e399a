import { isInstantInRange, MAX_INSTANT, MIN_INSTANT, parseInstant } from './instant';

describe('parseInstant (RFC 3339 date-time)', () => {
  it.each([
    ['2027-01-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01T09:00:00+09:00', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01t00:00:00.123456z', '2027-01-01T00:00:00.123Z'],
    ['2028-02-29T12:00:00-05:00', '2028-02-29T17:00:00.000Z'],
    ['2027-01-01T23:59:59Z', '2027-01-01T23:59:59.000Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
    ['1970-01-01T01:00:00+01:00', '1970-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['9999-12-31T23:59:59+00:00', '9999-12-31T23:59:59.000Z'],
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

  it.each([
    ['24:00:00, which would roll over to the next day', '2027-01-01T24:00:00Z'],
    ['a minute of 60', '2027-01-01T12:60:00Z'],
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['an offset hour of 24', '2027-01-01T00:00:00+24:00'],
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['a year before 1970', '1969-12-31T23:59:59.999Z'],
    ['1970 in local time that is 1969 in UTC', '1970-01-01T00:30:00+01:00'],
    ['9999 in local time that is year 10000 in UTC', '9999-12-31T23:00:00-05:00'],
    ['an expanded year', '+010000-01-01T00:00:00Z'],
  ])('refuses %s (%s)', (_name, text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  it('refuses non-strings', () => {
    expect(parseInstant(1893456000000)).toBeUndefined();
    expect(parseInstant(null)).toBeUndefined();
  });

  it('bounds instants to what RFC 3339 can print with a four-digit year', () => {
    expect(MIN_INSTANT.toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(MAX_INSTANT.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    expect(isInstantInRange(new Date(MAX_INSTANT.getTime() + 1))).toBe(false);
    expect(isInstantInRange(new Date(MIN_INSTANT.getTime() - 1))).toBe(false);
    expect(isInstantInRange(new Date(Number.NaN))).toBe(false);
  });
});
