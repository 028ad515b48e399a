import { descendantsNamed } from './safe-xml';

/**
 * The first time window of an assertion that does not hold at `nowMs`: Conditions and bearer
 * SubjectConfirmationData, `NotBefore` inclusive and `NotOnOrAfter` exclusive (saml-core-2.0-os
 * §2.5.1.2 and §2.4.1.2), each widened by `skewMs`.
 *
 * Run on the received document before signature checks, for a readable reason: it can only
 * refuse (node-saml checks the signed assertion's times again), so an unsigned part never makes
 * anything acceptable.
 *
 * @returns `assertion_not_yet_valid` or `assertion_expired` with a detail, or undefined
 */
export function validityWindowProblem(
  doc: Document,
  nowMs: number,
  skewMs: number,
): { code: 'assertion_not_yet_valid' | 'assertion_expired'; detail: string } | undefined {
  const root = doc.documentElement;
  const windows = [
    ...descendantsNamed(root, 'Conditions'),
    ...descendantsNamed(root, 'SubjectConfirmationData'),
  ];
  for (const element of windows) {
    const notBefore = element.getAttribute('NotBefore');
    const notOnOrAfter = element.getAttribute('NotOnOrAfter');
    if (notBefore && nowMs + skewMs < Date.parse(notBefore)) {
      return {
        code: 'assertion_not_yet_valid',
        detail: `${element.localName} is valid from ${notBefore} (clock skew allowed: ${skewMs} ms).`,
      };
    }
    if (notOnOrAfter && nowMs - skewMs >= Date.parse(notOnOrAfter)) {
      return {
        code: 'assertion_expired',
        detail: `${element.localName} is valid until ${notOnOrAfter}, exclusive (clock skew allowed: ${skewMs} ms).`,
      };
    }
    if (
      (notBefore && Number.isNaN(Date.parse(notBefore))) ||
      (notOnOrAfter && Number.isNaN(Date.parse(notOnOrAfter)))
    ) {
      return { code: 'assertion_expired', detail: `${element.localName} has an unreadable time.` };
    }
  }
  return undefined;
}
