import { DOMParser } from '@xmldom/xmldom';

/**
 * SAML messages and metadata never need a document type declaration; refusing any DTD means an
 * external entity (XXE) or an entity expansion ("billion laughs") is never even parsed, whatever
 * the parser underneath would do with it.
 */
export function hasDocumentType(xml: string): boolean {
  return /<!DOCTYPE|<!ENTITY/i.test(xml);
}

/**
 * Parses XML without DTDs (refused above) and with parse errors as exceptions.
 *
 * @throws Error for malformed XML or a DTD
 */
export function parseXml(xml: string): Document {
  if (hasDocumentType(xml)) throw new Error('XML with a DOCTYPE or entity declaration is refused');
  const errors: string[] = [];
  const doc = new DOMParser({
    locator: {},
    errorHandler: {
      warning: () => undefined,
      error: (message: string) => errors.push(message),
      fatalError: (message: string) => errors.push(message),
    },
  }).parseFromString(xml, 'text/xml') as unknown as Document;
  if (errors.length || !doc?.documentElement) {
    throw new Error(`not well-formed XML${errors[0] ? `: ${errors[0].split('\n')[0]}` : ''}`);
  }
  return doc;
}

/** Child elements of `parent` with local name `name` (any namespace). */
export function childrenNamed(parent: Element, name: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === name) found.push(node as Element);
  }
  return found;
}

/** Descendant elements of `parent` with local name `name` (any namespace). */
export function descendantsNamed(parent: Element, name: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS('*', name));
}
