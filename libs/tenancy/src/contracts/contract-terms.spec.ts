import {
  activationErrors,
  contractTermErrors,
  ContractTerms,
  defaultTermEnd,
  nextRenewalNumber,
  renewalNumber,
  renewalTermEnd,
} from './contract-terms';

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
    // The suffix is never cut off: the stem is.
    expect(nextRenewalNumber('x'.repeat(64))).toBe(`${'x'.repeat(61)}-R1`);
    expect(renewalNumber('x'.repeat(64), 12)).toBe(`${'x'.repeat(60)}-R12`);
  });

  it('refuses a term ending after 9999-12-31 (no four-digit year to print it with)', () => {
    const start = new Date('9999-06-01T00:00:00Z');
    expect(
      contractTermErrors(terms({ termStart: start, termEnd: defaultTermEnd(start, 'UTC') })),
    ).toEqual([{ path: 'termEnd', message: 'the term must end by 9999-12-31T23:59:59.999Z' }]);
    expect(
      contractTermErrors(
        terms({ termStart: start, termEnd: new Date('9999-12-31T23:59:59.999Z') }),
      ),
    ).toEqual([]);
  });
});

describe('renewalTermEnd: as long as the renewed term, in calendar terms', () => {
  const renewal = (start: string, end: string, zone = 'UTC') =>
    renewalTermEnd(new Date(start), new Date(end), zone).toISOString();

  it('repeats whole years and months in UTC', () => {
    expect(renewal('2030-01-01T00:00:00Z', '2031-01-01T00:00:00Z')).toBe(
      '2032-01-01T00:00:00.000Z',
    );
    expect(renewal('2030-01-15T12:00:00Z', '2030-04-15T12:00:00Z')).toBe(
      '2030-07-15T12:00:00.000Z',
    );
  });

  it('keeps local midnight in New York across DST: whole months', () => {
    // 2027-11-01 00:00 EDT → 2028-02-01 00:00 EST: three months, the last hours of which are
    // standard time. The renewal ends 2028-05-01 00:00 EDT, not an hour off.
    expect(renewal('2027-11-01T04:00:00Z', '2028-02-01T05:00:00Z', 'America/New_York')).toBe(
      '2028-05-01T04:00:00.000Z',
    );
  });

  it('keeps local midnight in New York across DST: whole days', () => {
    // 2027-03-01 00:00 EST → 2027-03-31 00:00 EDT: 30 local days (one of them 23 hours long),
    // not whole months. The renewal is 30 local days too: it ends 2027-04-30 00:00 EDT, where
    // repeating the milliseconds would end it at 23:00 the day before.
    expect(renewal('2027-03-01T05:00:00Z', '2027-03-31T04:00:00Z', 'America/New_York')).toBe(
      '2027-04-30T04:00:00.000Z',
    );
  });

  it('counts a 31st anchor ending in a short month as whole months; the renewal counts from its own start', () => {
    // Jan 31 + 1 month is Feb 28 (the last day of February), so this term is one month.
    expect(renewal('2030-01-31T00:00:00Z', '2030-02-28T00:00:00Z')).toBe(
      '2030-03-28T00:00:00.000Z',
    );
    // Two months from a 31st that ends on a 31st renews to the 31st.
    expect(renewal('2030-01-31T00:00:00Z', '2030-03-31T00:00:00Z')).toBe(
      '2030-05-31T00:00:00.000Z',
    );
    // Leap day anchor: one year ends Feb 28, the renewal runs Feb 28 → Feb 28.
    expect(renewal('2028-02-29T00:00:00Z', '2029-02-28T00:00:00Z')).toBe(
      '2030-02-28T00:00:00.000Z',
    );
  });

  it('falls back to whole days, then to the same milliseconds', () => {
    // Feb 28 → Mar 31 is not whole months from the 28th: 31 days.
    expect(renewal('2030-02-28T00:00:00Z', '2030-03-31T00:00:00Z')).toBe(
      '2030-05-01T00:00:00.000Z',
    );
    expect(renewal('2030-01-01T00:00:00Z', '2030-01-01T06:30:00Z')).toBe(
      '2030-01-01T13:00:00.000Z',
    );
  });
});
