import { DEFAULT_COMPLIANCE_PROFILE, ComplianceProfile } from '@app/tenancy';
import { placementRefusal } from './placement.policy';

const profile = (overrides: Partial<ComplianceProfile>): ComplianceProfile => ({
  ...DEFAULT_COMPLIANCE_PROFILE,
  ...overrides,
});
const eu = { code: 'eu-west-1', dataZone: 'eu', certifications: ['gdpr', 'soc2'] };
const us = { code: 'us-east-1', dataZone: 'us', certifications: ['hipaa', 'soc2'] };
const llama = { id: 'llama-3-8b-local', family: 'llama' };

describe('placementRefusal (compliance profile as CASL rules)', () => {
  const gdprEu = profile({
    allowedDataZones: ['eu'],
    allowedModelFamilies: ['llama'],
    requiredCertifications: ['gdpr'],
  });

  it('allows a region in an allowed data zone holding every required certification', () => {
    expect(placementRefusal(gdprEu, { region: eu, model: llama })).toBeUndefined();
  });

  it('allows a region listed by code even outside the allowed zones', () => {
    const p = profile({ allowedRegions: ['us-east-1'], allowedModelFamilies: ['llama'] });
    expect(placementRefusal(p, { region: us, model: llama })).toBeUndefined();
  });

  it('refuses a region neither listed nor in an allowed zone', () => {
    expect(placementRefusal(gdprEu, { region: us, model: llama })).toEqual({
      code: 'region_not_allowed',
    });
  });

  it('refuses an allowed region that lacks a required certification, naming it', () => {
    const p = profile({
      allowedRegions: ['eu-west-1'],
      allowedModelFamilies: ['llama'],
      requiredCertifications: ['soc2', 'hipaa'],
    });
    expect(placementRefusal(p, { region: eu, model: llama })).toEqual({
      code: 'region_missing_certification',
      certification: 'hipaa',
    });
  });

  it('refuses a model family the profile does not allow', () => {
    expect(
      placementRefusal(gdprEu, {
        region: eu,
        model: { id: 'mistral-7b-local', family: 'mistral' },
      }),
    ).toEqual({ code: 'model_family_not_allowed' });
  });

  it('reports the region first when a placement breaks several rules', () => {
    expect(
      placementRefusal(gdprEu, { region: us, model: { id: 'm', family: 'mistral' } })?.code,
    ).toBe('region_not_allowed');
  });

  it('refuses everything under the default profile (nothing permitted until staff set it)', () => {
    expect(placementRefusal(DEFAULT_COMPLIANCE_PROFILE, { region: eu, model: llama })?.code).toBe(
      'region_not_allowed',
    );
  });
});
