import { parseXml } from './safe-xml';
import { validityWindowProblem } from './validity-window';

const doc = (notBefore: string, notOnOrAfter: string) =>
  parseXml(
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion><saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"/></saml:Assertion></samlp:Response>`,
  );

describe('validityWindowProblem', () => {
  const notBefore = '2026-01-01T10:00:00.000Z';
  const notOnOrAfter = '2026-01-01T10:05:00.000Z';
  const at = (iso: string) => Date.parse(iso);

  it('refuses an assertion at exactly NotOnOrAfter (exclusive)', () => {
    expect(validityWindowProblem(doc(notBefore, notOnOrAfter), at(notOnOrAfter), 0)?.code).toBe(
      'assertion_expired',
    );
  });

  it('accepts one millisecond before NotOnOrAfter and exactly at NotBefore (inclusive)', () => {
    expect(
      validityWindowProblem(doc(notBefore, notOnOrAfter), at(notOnOrAfter) - 1, 0),
    ).toBeUndefined();
    expect(validityWindowProblem(doc(notBefore, notOnOrAfter), at(notBefore), 0)).toBeUndefined();
  });

  it('refuses one millisecond before NotBefore', () => {
    expect(validityWindowProblem(doc(notBefore, notOnOrAfter), at(notBefore) - 1, 0)?.code).toBe(
      'assertion_not_yet_valid',
    );
  });

  it('widens both edges by the configured skew, NotOnOrAfter + skew still exclusive', () => {
    const skew = 60_000;
    expect(
      validityWindowProblem(doc(notBefore, notOnOrAfter), at(notOnOrAfter) + skew - 1, skew),
    ).toBeUndefined();
    expect(
      validityWindowProblem(doc(notBefore, notOnOrAfter), at(notOnOrAfter) + skew, skew)?.code,
    ).toBe('assertion_expired');
    expect(
      validityWindowProblem(doc(notBefore, notOnOrAfter), at(notBefore) - skew, skew),
    ).toBeUndefined();
  });

  it('refuses an unreadable time', () => {
    expect(validityWindowProblem(doc('yesterday', notOnOrAfter), at(notBefore), 0)?.code).toBe(
      'assertion_expired',
    );
  });
});
