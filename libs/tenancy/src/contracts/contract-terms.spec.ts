import {
  activationErrors,
  contractTermErrors,
  ContractTerms,
  defaultTermEnd,
} from './contract-terms';
import { nextRenewalNumber } from './contract.service';

const terms = (overrides: Partial<ContractTerms> = {}): ContractTerms => ({
  termStart: new Date('2030-01-01T00:00:00Z'),
  termEnd: new Date('2031-01-01T00:00:00Z'),
  currency: 'EUR',
  committedSpendMinor: 1000,
  billingModel: 'postpaid_commitment',
  sla: { availabilityTarget: 99.9, measurementWindow: 'calendar_month', creditTiers: [] },
  quotaLines: [{ metric: 'requests', period: 'day', enforcement: 'hard', limit: 10 }],
  ...overrides,
});

describe('contract terms', () => {
  it('accepts consistent, complete terms', () => {
    expect(contractTermErrors(terms())).toEqual([]);
    expect(activationErrors(terms(), new Date('2029-06-01T00:00:00Z'))).toEqual([]);
  });

  it('allows multi-year terms up to ten years', () => {
    expect(contractTermErrors(terms({ termEnd: new Date('2040-01-01T00:00:00Z') }))).toEqual([]);
    expect(contractTermErrors(terms({ termEnd: new Date('2040-01-03T00:00:00Z') }))).toEqual([
      { path: 'termEnd', message: 'the term may last at most 10 years' },
    ]);
  });

  it('lets a lower tier credit more, never less', () => {
    const sla = (creditTiers: { below: number; creditPercent: number }[]) =>
      terms({
        sla: { availabilityTarget: 99.9, measurementWindow: 'calendar_month', creditTiers },
      });
    expect(
      contractTermErrors(
        sla([
          { below: 95, creditPercent: 100 },
          { below: 99.9, creditPercent: 10 },
          { below: 99, creditPercent: 25 },
        ]),
      ),
    ).toEqual([]);
    expect(
      contractTermErrors(
        sla([
          { below: 99, creditPercent: 25 },
          { below: 99, creditPercent: 30 },
        ]),
      ).map((e) => e.message),
    ).toEqual(['two tiers have the same threshold']);
  });

  it('lists everything a bare draft lacks', () => {
    const bare = terms({
      currency: null,
      committedSpendMinor: null,
      billingModel: null,
      sla: null,
      quotaLines: [],
    });
    expect(activationErrors(bare, new Date('2029-01-01T00:00:00Z')).map((e) => e.path)).toEqual([
      'currency',
      'committedSpendMinor',
      'billingModel',
      'sla',
      'quotaLines',
    ]);
  });

  it('accepts zero committed spend (a pure usage contract)', () => {
    expect(activationErrors(terms({ committedSpendMinor: 0 }), new Date(0))).toEqual([]);
  });

  it('defaults the term end to a year later in the billing zone, across DST and leap days', () => {
    // Midnight of 28 March 2027 in Berlin is still winter time (CET); a year later it is CEST.
    expect(defaultTermEnd(new Date('2027-03-27T23:00:00Z'), 'Europe/Berlin').toISOString()).toBe(
      '2028-03-27T22:00:00.000Z',
    );
    expect(defaultTermEnd(new Date('2028-02-29T00:00:00Z'), 'UTC').toISOString()).toBe(
      '2029-02-28T00:00:00.000Z',
    );
  });

  it('numbers renewals -R1, -R2, …', () => {
    expect(nextRenewalNumber('ACME-2027')).toBe('ACME-2027-R1');
    expect(nextRenewalNumber('ACME-2027-R1')).toBe('ACME-2027-R2');
    expect(nextRenewalNumber('ACME-2027-R9')).toBe('ACME-2027-R10');
    expect(nextRenewalNumber('x'.repeat(64))).toHaveLength(64);
  });
});
