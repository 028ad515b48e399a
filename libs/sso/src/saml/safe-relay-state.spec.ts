import { safeRelayState } from './saml-login.service';

describe('safeRelayState (no open redirect)', () => {
  it.each(['/', '/console', '/console/endpoints?tab=mine#top', '/a/../b'])('keeps %s', (value) => {
    expect(safeRelayState(value)).toBe(
      new URL(value, 'https://x.invalid').href.slice('https://x.invalid'.length),
    );
  });

  it.each([
    'https://evil.example/',
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    // Dot-segments that collapse into a protocol-relative URL.
    '/.//evil.example',
    '/%2e//evil.example',
    '/%2e%2e//evil.example',
    '/a/..//evil.example/x',
    '/./%2e/..//evil.example',
    '/\tevil',
    ' /x',
    '',
    'x'.repeat(3000),
    42,
    undefined,
  ])('refuses %j', (value) => {
    expect(safeRelayState(value)).toBeNull();
  });
});
