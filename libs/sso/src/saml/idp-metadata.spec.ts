import { makeKeyAndCertificate, TestIdp } from '@app/testing';
import { X509Certificate } from 'node:crypto';
import { parseIdpMetadata } from './idp-metadata';

describe('parseIdpMetadata', () => {
  it('reads entity ID, SSO URL and binding, and only the signing certificates', () => {
    const idp = new TestIdp('entra');
    const next = makeKeyAndCertificate('next');
    const parsed = parseIdpMetadata(
      idp.metadataXml([idp.signing.certificatePem, next.certificatePem]),
    );
    expect(parsed).toMatchObject({
      entityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      ssoBinding: 'redirect',
    });
    const fingerprints =
      typeof parsed === 'string' ? [] : parsed.certificates.map((c) => c.fingerprint);
    expect(fingerprints).toEqual([
      new X509Certificate(idp.signing.certificatePem).fingerprint256,
      new X509Certificate(next.certificatePem).fingerprint256,
    ]);
    expect(fingerprints).not.toContain(
      new X509Certificate(idp.encryption.certificatePem).fingerprint256,
    );
  });

  it.each([
    ['<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', /DOCTYPE/],
    ['<x', /well-formed/],
    ['<Foo/>', /EntityDescriptor/],
  ])('explains what is wrong with %s', (xml, message) => {
    expect(parseIdpMetadata(xml)).toMatch(message);
  });
});
