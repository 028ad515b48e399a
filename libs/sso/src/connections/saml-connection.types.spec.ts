import { roleFor } from './saml-connection.types';

describe('roleFor (group-to-role rules)', () => {
  const rules = [
    { group: 'everyone', role: 'viewer' as const },
    { group: 'ml-team', role: 'ml_engineer' as const },
    { group: 'auditors', role: 'compliance_officer' as const },
    { group: 'cp-admins', role: 'tenant_admin' as const },
  ];

  it('gives the highest role among the matching rules, whatever their order', () => {
    expect(roleFor(['everyone', 'auditors', 'ml-team'], rules, null)).toBe('ml_engineer');
    expect(roleFor(['cp-admins', 'everyone'], [...rules].reverse(), null)).toBe('tenant_admin');
  });

  it('falls back to the default role, or none', () => {
    expect(roleFor(['sales'], rules, 'viewer')).toBe('viewer');
    expect(roleFor(['sales'], rules, null)).toBeNull();
    expect(roleFor([], [], null)).toBeNull();
  });

  it('matches group names trimmed and case-folded (IdPs differ in both)', () => {
    expect(roleFor(['CP-Admins'], rules, null)).toBe('tenant_admin');
    expect(roleFor([' ml-team '], rules, null)).toBe('ml_engineer');
    expect(roleFor(['ml-teams'], rules, null)).toBeNull();
  });
});
