import type { Contract } from './api';
import {
  bodyOf,
  ContractForm,
  emptyForm,
  formOf,
  LineForm,
  lineErrors,
  newLine,
  newTier,
  tierErrors,
} from './contract-form';

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
    ['-3', 'Must be at least 1'],
    ['-', 'Must be a whole number'],
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
      sla: { availabilityTarget: 99.9, latencyP95Ms: undefined, ttfbP95Ms: 300, creditTiers: [] },
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

const tiers = (...pairs: [string, string][]): Partial<ContractForm> => ({
  tiers: pairs.map(([below, creditPercent]) => ({ ...newTier(), below, creditPercent })),
});
const form = (patch: Partial<ContractForm>): ContractForm => ({ ...emptyForm(), ...patch });

describe('SLA credit tiers (as the account manager types)', () => {
  it('accepts tiers under the target, each lower one crediting at least as much, in any order', () => {
    expect(
      tierErrors(form(tiers(['95', '100'], ['99.9', '10'], ['99.125', '25'], ['0', '100']))),
    ).toEqual({});
    expect(tierErrors(form({}))).toEqual({});
  });

  it.each([
    ['', 'Required'],
    ['-1', 'A percent from 0 to 100, up to 3 decimals'],
    ['100.5', 'A percent from 0 to 100, up to 3 decimals'],
    ['99.1234', 'A percent from 0 to 100, up to 3 decimals'],
    ['abc', 'A percent from 0 to 100, up to 3 decimals'],
    ['99.95', 'Must not exceed the availability target (99.9 %)'],
  ])('marks the threshold %p: %s', (below, message) => {
    expect(tierErrors(form(tiers([below, '10'])))).toEqual({
      'sla.creditTiers[0].below': message,
    });
  });

  it.each([
    ['', 'Required'],
    ['0', 'Must be at least 1'],
    ['-5', 'Must be at least 1'],
    ['2.5', 'Must be a whole number'],
    ['101', 'At most 100'],
  ])('marks the credit %p: %s', (credit, message) => {
    expect(tierErrors(form(tiers(['99', credit])))).toEqual({
      'sla.creditTiers[0].creditPercent': message,
    });
  });

  it('refuses two tiers at one threshold, and a lower threshold crediting less', () => {
    expect(tierErrors(form(tiers(['99', '10'], ['99.0', '25'])))).toEqual({
      'sla.creditTiers[1].below': 'Another tier has this threshold',
    });
    expect(tierErrors(form(tiers(['99', '25'], ['95', '10'])))).toEqual({
      'sla.creditTiers[1].creditPercent':
        'A lower availability must not earn a smaller credit (below 99 %: 25 %)',
    });
  });

  it('wants an availability target when there are tiers', () => {
    expect(tierErrors(form({ availabilityTarget: '', ...tiers(['99', '10']) }))).toEqual({
      'sla.availabilityTarget': 'Required with credit tiers',
    });
  });

  it('keeps the stored tiers of a contract in the body (an amendment or a draft save)', () => {
    const contract: Contract = {
      id: 'c1',
      contractNumber: 'ACME-1',
      status: 'active',
      version: 1,
      termStart: '2027-01-01T00:00:00.000Z',
      termEnd: '2028-01-01T00:00:00.000Z',
      currency: 'EUR',
      committedSpendMinor: 100,
      billingModel: 'prepaid',
      sla: {
        availabilityTarget: 99.9,
        latencyP95Ms: 800,
        creditTiers: [
          { below: 99.9, creditPercent: 10 },
          { below: 99, creditPercent: 25 },
        ],
      },
      quotaLines: [],
      activatedAt: '2027-01-01T00:00:00.000Z',
    };
    const loaded = formOf(contract);
    expect(tierErrors(loaded)).toEqual({});
    expect(bodyOf(loaded).sla).toEqual({
      availabilityTarget: 99.9,
      latencyP95Ms: 800,
      ttfbP95Ms: undefined,
      creditTiers: [
        { below: 99.9, creditPercent: 10 },
        { below: 99, creditPercent: 25 },
      ],
    });
  });
});
