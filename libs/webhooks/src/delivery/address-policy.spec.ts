import { isPublicAddress, webhookUrlShapeProblem, webhookUrlTargetProblem } from './address-policy';

const STRICT = { allowHttp: false, allowPrivateNetworks: false };

describe('webhook address policy', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '203.0.113.7',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:c0a8:101::1',
    '2001:db8::1',
  ])('treats %s as non-public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    '1.1.1.1',
    '8.8.4.4',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '::ffff:1.1.1.1',
    '64:ff9b::101:101',
  ])('treats %s as public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it('is not fooled by names', () => {
    expect(isPublicAddress('example.com')).toBe(false);
  });

  it.each([
    ['not a url', 'absolute'],
    ['/relative/path', 'absolute'],
    ['ftp://example.com/x', 'absolute'],
    ['javascript:alert(1)', 'absolute'],
    ['https://user:pass@example.com/x', 'credentials'],
    ['https://user@example.com/x', 'credentials'],
    [`https://example.com/${'a'.repeat(2048)}`, '2048'],
  ])('refuses the shape of %s', (url, words) => {
    expect(webhookUrlShapeProblem(url)).toContain(words);
  });

  it('accepts absolute http(s) URLs', () => {
    expect(webhookUrlShapeProblem('https://hooks.example.com/cp?x=1')).toBeUndefined();
    expect(webhookUrlShapeProblem('http://127.0.0.1:8080/hook')).toBeUndefined();
  });

  it('requires https unless http is allowed', async () => {
    const url = new URL('http://1.1.1.1/hook');
    expect(await webhookUrlTargetProblem(url, STRICT)).toBe('url must use https');
    expect(await webhookUrlTargetProblem(url, { ...STRICT, allowHttp: true })).toBeUndefined();
  });

  it.each([
    'https://127.0.0.1/x',
    'https://[::1]/x',
    'https://[::ffff:192.168.0.1]/x',
    'https://2130706433/x',
    'https://0x7f.1/x',
    'https://169.254.169.254/latest/meta-data',
  ])('refuses the non-public literal address of %s unless allowed', async (raw) => {
    const url = new URL(raw);
    expect(await webhookUrlTargetProblem(url, STRICT)).toMatch(/non-public/);
    expect(
      await webhookUrlTargetProblem(url, { ...STRICT, allowPrivateNetworks: true }),
    ).toBeUndefined();
  });

  it('refuses a name when any of its addresses is non-public, or when it does not resolve', async () => {
    const url = new URL('https://hooks.example.test/x');
    const answer = (...addresses: string[]) => ({
      resolve: async () =>
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    });
    expect(await webhookUrlTargetProblem(url, STRICT, answer('1.1.1.1'))).toBeUndefined();
    expect(await webhookUrlTargetProblem(url, STRICT, answer('1.1.1.1', '10.0.0.5'))).toMatch(
      /resolves to a loopback, private/,
    );
    expect(
      await webhookUrlTargetProblem(url, STRICT, {
        resolve: () => Promise.reject(new Error('ENOTFOUND')),
      }),
    ).toMatch(/could not be resolved/);
    expect(
      await webhookUrlTargetProblem(url, STRICT, {
        resolve: () => new Promise(() => undefined),
        timeoutMs: 20,
      }),
    ).toMatch(/could not be resolved/);
  });

  it('resolves localhost with the system resolver and refuses it', async () => {
    expect(await webhookUrlTargetProblem(new URL('https://localhost:9/x'), STRICT)).toMatch(
      /non-public/,
    );
  });
});
