import type { ComplianceProfile } from '@app/tenancy';
import { trainingRefusal } from './training-admission.policy';

const profile = { allowedModelFamilies: ['llama'] } as unknown as ComplianceProfile;
const llama = { id: 'llama-3-8b-local', family: 'llama', fineTunable: true, tenantId: null };

describe('trainingRefusal', () => {
  it('allows a fine-tunable base model of an allowed family', () => {
    expect(trainingRefusal(profile, llama)).toBeUndefined();
  });

  it('refuses a family the profile does not allow', () => {
    expect(trainingRefusal(profile, { ...llama, family: 'mistral' })).toBe(
      'model_family_not_allowed',
    );
  });

  it('refuses a model that is not fine-tunable, or a tenant’s fine-tuned model', () => {
    expect(trainingRefusal(profile, { ...llama, fineTunable: false })).toBe(
      'model_not_fine_tunable',
    );
    expect(trainingRefusal(profile, { ...llama, tenantId: 'a-tenant' })).toBe(
      'model_not_fine_tunable',
    );
    expect(trainingRefusal(profile, { ...llama, family: 'e5', fineTunable: false })).toBe(
      'model_not_fine_tunable',
    );
  });
});
