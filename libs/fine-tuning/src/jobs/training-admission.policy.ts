import { AbilityBuilder, createMongoAbility, MongoAbility, subject } from '@casl/ability';
import type { ComplianceProfile } from '@app/tenancy';

/** The base model a job would train: the facts checked before a job is created. */
export interface TrainingTarget {
  id: string;
  family: string;
  fineTunable: boolean;
  /** Fine-tuned models belong to a tenant; only base models (null) are trained. */
  tenantId: string | null;
}

export type TrainingRefusal = 'model_not_fine_tunable' | 'model_family_not_allowed';

type TrainingAbility = MongoAbility<['fine_tune', 'TrainingTarget' | TrainingTarget]>;

/**
 * What a tenant may fine-tune, as CASL rules (DESIGN.md "Compliance boundaries are data"):
 * base models marked fine-tunable, of a family the compliance profile allows. Later rules win,
 * so a model breaking both is reported as not fine-tunable.
 */
export function trainingAbility(profile: ComplianceProfile): TrainingAbility {
  const { can, cannot, build } = new AbilityBuilder<TrainingAbility>(createMongoAbility);
  can('fine_tune', 'TrainingTarget');
  cannot('fine_tune', 'TrainingTarget', {
    family: { $nin: profile.allowedModelFamilies },
  }).because('model_family_not_allowed');
  cannot('fine_tune', 'TrainingTarget', { fineTunable: false }).because('model_not_fine_tunable');
  cannot('fine_tune', 'TrainingTarget', { tenantId: { $ne: null } }).because(
    'model_not_fine_tunable',
  );
  return build();
}

/** Why the profile refuses training the model, or undefined when it may be trained. */
export function trainingRefusal(
  profile: ComplianceProfile,
  target: TrainingTarget,
): TrainingRefusal | undefined {
  const rule = trainingAbility(profile).relevantRuleFor(
    'fine_tune',
    subject('TrainingTarget', { ...target }),
  );
  return rule?.inverted ? (rule.reason as TrainingRefusal) : undefined;
}
