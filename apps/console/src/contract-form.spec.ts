import { bodyOf, emptyForm, LineForm, lineErrors, newLine } from './contract-form';

const line = (patch: Partial<LineForm>): LineForm => ({ ...newLine(), ...patch });

describe('contract form checks (as the account manager types)', () => {
  it('accepts whole limits from 1 to 2^53 − 1 and an optional whole overage price', () => {
    expect(
      lineErrors([
        line({ limit: '1' }),
        line({
          metric: 'requests',
          limit: String(Number.MAX_SAFE_INTEGER),
          overageUnitPriceMinor: '0',
        }),
      ]),
    ).toEqual({});
  });

  it.each([
    ['', 'Required'],
    ['0', 'Must be at least 1'],
    ['-3', 'Must be a whole number'],
    ['12.5', 'Must be a whole number'],
    ['1e6', 'Must be a whole number'],
    ['abc', 'Must be a whole number'],
    ['9007199254740992', 'Too large'],
  ])('marks the limit %p: %s', (limit, message) => {
    expect(lineErrors([line({ limit })])).toEqual({ 'quotaLines[0].limit': message });
  });

  it('refuses a second line of the same metric and period, on the later line', () => {
    expect(lineErrors([line({ limit: '5' }), line({ limit: '6' })])).toEqual({
      'quotaLines[1].metric': 'Only one total_tokens line per month',
    });
  });

  it('wants the term period for metrics that cap a level', () => {
    expect(
      lineErrors([line({ metric: 'dedicated_endpoints', period: 'month', limit: '2' })]),
    ).toEqual({
      'quotaLines[0].period': 'dedicated_endpoints caps a level: its period is term',
    });
    expect(newLine('dedicated_endpoints').period).toBe('term');
  });

  it('marks a fractional overage price', () => {
    expect(lineErrors([line({ limit: '5', overageUnitPriceMinor: '2.5' })])).toEqual({
      'quotaLines[0].overageUnitPriceMinor': 'Must be a whole number',
    });
  });
});

describe('contract form body (what is sent to the API)', () => {
  it('sends UTC instants, numbers, the SLA and the lines; leaves empty optional fields out', () => {
    const form = {
      ...emptyForm(),
      contractNumber: ' ACME-2027 ',
      termStart: '2027-01-01',
      termEnd: '2028-01-01',
      currency: 'eur',
      committedSpendMinor: '120000000',
      availabilityTarget: '99.9',
      latencyP95Ms: '',
      ttfbP95Ms: '300',
      lines: [line({ limit: '500', overageUnitPriceMinor: '' })],
    };
    expect(bodyOf(form)).toEqual({
      contractNumber: 'ACME-2027',
      termStart: '2027-01-01T00:00:00Z',
      termEnd: '2028-01-01T00:00:00Z',
      currency: 'EUR',
      committedSpendMinor: 120000000,
      billingModel: 'prepaid',
      sla: { availabilityTarget: 99.9, latencyP95Ms: undefined, ttfbP95Ms: 300 },
      quotaLines: [
        {
          metric: 'total_tokens',
          limit: 500,
          period: 'month',
          enforcement: 'hard',
          overageUnitPriceMinor: undefined,
        },
      ],
    });
  });

  it('keeps a stored term instant whose day was not changed, and sends midnight UTC for a new day', () => {
    const loaded = { termStart: '2027-01-01T09:30:00.000Z', termEnd: '2028-01-01T09:30:00.000Z' };
    const form = { ...emptyForm(), termStart: '2027-01-01', termEnd: '2028-02-01', loaded };
    expect(bodyOf(form)).toMatchObject({
      termStart: '2027-01-01T09:30:00.000Z',
      termEnd: '2028-02-01T00:00:00Z',
    });
  });

  it('sends no SLA without an availability target', () => {
    expect(bodyOf({ ...emptyForm(), availabilityTarget: '' }).sla).toBeUndefined();
  });
});
