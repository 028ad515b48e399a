import type { StoredCertificate } from '../connections/saml-connection.types';
import { parseCertificate } from './certificates';
import { childrenNamed, descendantsNamed, parseXml } from './safe-xml';

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  ssoBinding: 'redirect' | 'post';
  certificates: StoredCertificate[];
}

/**
 * Reads an IdP's SAML 2.0 metadata (saml-metadata-2.0-os): the entity ID, the
 * SingleSignOnService location (HTTP-Redirect preferred, else HTTP-POST) and every signing
 * certificate. A `KeyDescriptor` with `use="encryption"` is for encrypting to the IdP and is
 * never used to verify its signatures (§2.4.1.1: no `use` means both).
 *
 * @returns the metadata, or a message saying what is wrong with it
 */
export function parseIdpMetadata(xml: string): IdpMetadata | string {
  let doc: Document;
  try {
    doc = parseXml(xml);
  } catch (error) {
    return (error as Error).message;
  }
  const root = doc.documentElement;
  const entity =
    root.localName === 'EntityDescriptor'
      ? root
      : root.localName === 'EntitiesDescriptor'
        ? descendantsNamed(root, 'EntityDescriptor').find(
            (candidate) => childrenNamed(candidate, 'IDPSSODescriptor').length > 0,
          )
        : undefined;
  if (!entity) return 'is not SAML metadata with an EntityDescriptor';
  const entityId = entity.getAttribute('entityID');
  if (!entityId) return 'the EntityDescriptor has no entityID';
  const [idp] = childrenNamed(entity, 'IDPSSODescriptor');
  if (!idp) return 'has no IDPSSODescriptor (is it the metadata of a service provider?)';
  const services = childrenNamed(idp, 'SingleSignOnService');
  const service =
    services.find((s) => s.getAttribute('Binding') === REDIRECT) ??
    services.find((s) => s.getAttribute('Binding') === POST);
  const ssoUrl = service?.getAttribute('Location');
  if (!service || !ssoUrl)
    return 'has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding';
  const certificates: StoredCertificate[] = [];
  for (const descriptor of childrenNamed(idp, 'KeyDescriptor')) {
    const use = descriptor.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const element of descendantsNamed(descriptor, 'X509Certificate')) {
      const parsed = parseCertificate(element.textContent ?? '');
      if (typeof parsed === 'string') return `a signing certificate ${parsed}`;
      if (!certificates.some((c) => c.fingerprint === parsed.fingerprint))
        certificates.push(parsed);
    }
  }
  if (certificates.length === 0) return 'has no signing certificate (KeyDescriptor use="signing")';
  return {
    entityId,
    ssoUrl,
    ssoBinding: service.getAttribute('Binding') === REDIRECT ? 'redirect' : 'post',
    certificates,
  };
}
