import { makeKeyAndCertificate } from '@app/saml-idp';
import { sign } from 'node:crypto';
import { formsOf } from './browser';
import { redirectSignatureValid } from './demo-idp';

describe('the demo IdP and browser helpers', () => {
  const sp = makeKeyAndCertificate('sp');
  const SIG_ALG = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

  /** An HTTP-Redirect URL signed as SAML bindings §3.4.4.1 says, by `key`. */
  function signedUrl(key = sp): URL {
    const query = `SAMLRequest=${encodeURIComponent('fVLLbtsw')}&RelayState=${encodeURIComponent('/v1/me')}&SigAlg=${encodeURIComponent(SIG_ALG)}`;
    const signature = sign('RSA-SHA256', Buffer.from(query), key.privateKeyPem).toString('base64');
    return new URL(`https://idp.test/sso?${query}&Signature=${encodeURIComponent(signature)}`);
  }

  it('accepts a redirect signed by the SP and refuses another key or an edited query', () => {
    expect(redirectSignatureValid(signedUrl(), sp.certificatePem)).toBe(true);
    expect(redirectSignatureValid(signedUrl(makeKeyAndCertificate('x')), sp.certificatePem)).toBe(
      false,
    );
    const edited = signedUrl();
    edited.searchParams.set('RelayState', '/somewhere-else');
    expect(redirectSignatureValid(edited, sp.certificatePem)).toBe(false);
    const unsigned = signedUrl();
    unsigned.searchParams.delete('Signature');
    expect(redirectSignatureValid(unsigned, sp.certificatePem)).toBe(false);
  });

  it('reads forms with their hidden fields, entities decoded', () => {
    const [form] = formsOf(
      '<form method="post" action="https://sp.test/acs?a=1&amp;b=2"><input type="hidden" name="SAMLResponse" value="PHNh&quot;"><input name="RelayState" value="/v1/me"></form>',
    );
    expect(form).toEqual({
      action: 'https://sp.test/acs?a=1&b=2',
      method: 'POST',
      fields: { SAMLResponse: 'PHNh"', RelayState: '/v1/me' },
    });
  });
});
