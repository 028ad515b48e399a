import type { CatalogModel, ComplianceProfile, Region } from './api';
import { deployableModels } from './placement';

const TENANT = 'tenant-a';
const profile = (patch: Partial<ComplianceProfile> = {}): ComplianceProfile => ({
  allowedRegions: ['eu-west-1'],
  allowedDataZones: [],
  allowedModelFamilies: ['llama'],
  dataClassification: 'confidential',
  requiredCertifications: [],
  auditRetentionDays: 365,
  ...patch,
});
const region = (code: string, dataZone: string, certifications: string[]): Region => ({
  code,
  name: code,
  dataZone,
  certifications,
});
const REGIONS = [
  region('eu-west-1', 'eu', ['gdpr', 'hipaa']),
  region('eu-central-1', 'eu', ['gdpr']),
  region('us-east-1', 'us', ['hipaa']),
];
const model = (id: string, patch: Partial<CatalogModel> = {}): CatalogModel => ({
  id,
  family: 'llama',
  modality: 'chat',
  regions: ['eu-west-1', 'eu-central-1', 'us-east-1'],
  tenantId: null,
  ...patch,
});
const offers = (p: ComplianceProfile, models: CatalogModel[]) =>
  deployableModels(TENANT, p, models, REGIONS).map((o) => [o.model.id, o.regions]);

describe('what the new-endpoint dialog offers (the compliance profile, as the API checks it)', () => {
  it('offers the allowed regions where the catalog offers the model', () => {
    expect(offers(profile(), [model('llama')])).toEqual([['llama', ['eu-west-1']]]);
  });

  it('permits every region of an allowed data zone', () => {
    expect(
      offers(profile({ allowedRegions: [], allowedDataZones: ['eu'] }), [model('llama')]),
    ).toEqual([['llama', ['eu-west-1', 'eu-central-1']]]);
  });

  it('leaves out regions lacking a required certification', () => {
    const p = profile({ allowedDataZones: ['eu', 'us'], requiredCertifications: ['hipaa'] });
    expect(offers(p, [model('llama')])).toEqual([['llama', ['eu-west-1', 'us-east-1']]]);
  });

  it('leaves out models of a family the profile does not allow', () => {
    expect(offers(profile(), [model('mistral', { family: 'mistral' }), model('llama')])).toEqual([
      ['llama', ['eu-west-1']],
    ]);
  });

  it('leaves out models offered in no permitted region, and regions unknown to the catalog', () => {
    expect(
      offers(profile(), [
        model('us-only', { regions: ['us-east-1'] }),
        model('unknown', { regions: ['xx-nowhere-1'] }),
      ]),
    ).toEqual([]);
  });

  it("offers the tenant's own fine-tuned models but not another tenant's", () => {
    expect(
      offers(profile(), [
        model('ft:llama:a', { tenantId: TENANT }),
        model('ft:llama:b', { tenantId: 'tenant-b' }),
      ]),
    ).toEqual([['ft:llama:a', ['eu-west-1']]]);
  });
});
