import {
  ComplianceProfile,
  complianceProfileErrors,
  DEFAULT_COMPLIANCE_PROFILE,
  regionPermitted,
  requiredRetention,
} from './compliance-profile';

const regions = [
  { code: 'eu-west-1', dataZone: 'eu', certifications: ['gdpr', 'hipaa', 'soc2'] },
  { code: 'eu-central-1', dataZone: 'eu', certifications: ['gdpr', 'soc2'] },
  { code: 'us-east-1', dataZone: 'us', certifications: ['hipaa', 'soc2'] },
];
const profile = (p: Partial<ComplianceProfile>): ComplianceProfile => ({
  ...DEFAULT_COMPLIANCE_PROFILE,
  ...p,
});

describe('compliance profile', () => {
  it('takes the longest retention any required certification demands', () => {
    expect(requiredRetention(['gdpr'])).toEqual({ days: 0 });
    expect(requiredRetention(['soc2', 'hipaa', 'pci_dss'])).toEqual({ days: 2190, by: 'hipaa' });
  });

  it('permits a region by code or by data zone, only with every required certification', () => {
    const byZone = profile({ allowedDataZones: ['eu'], requiredCertifications: ['hipaa'] });
    expect(regions.filter((r) => regionPermitted(byZone, r)).map((r) => r.code)).toEqual([
      'eu-west-1',
    ]);
    const byCode = profile({ allowedRegions: ['us-east-1'] });
    expect(regions.filter((r) => regionPermitted(byCode, r)).map((r) => r.code)).toEqual([
      'us-east-1',
    ]);
    expect(regions.some((r) => regionPermitted(DEFAULT_COMPLIANCE_PROFILE, r))).toBe(false);
  });

  it('reports each broken catalog rule under its field', () => {
    const errors = complianceProfileErrors(
      profile({
        allowedRegions: ['eu-central-1', 'nowhere-1'],
        allowedDataZones: ['apac'],
        requiredCertifications: ['hipaa'],
        auditRetentionDays: 365,
      }),
      regions,
      'p.',
    );
    expect(errors.map((e) => e.path)).toEqual([
      'p.allowedRegions[0]',
      'p.allowedRegions[1]',
      'p.allowedDataZones[0]',
      'p.auditRetentionDays',
    ]);
  });
});
