import { AbilityBuilder, createMongoAbility, MongoAbility, subject } from '@casl/ability';
import type { ComplianceProfile } from '@app/tenancy';

/** Where a model would run: the facts a compliance profile is checked against. */
export interface Placement {
  region: { code: string; dataZone: string; certifications: string[] };
  model: { id: string; family: string };
}

/** A compliance refusal: its problem code and, for certifications, which one is missing. */
export interface PlacementRefusal {
  code: 'region_not_allowed' | 'region_missing_certification' | 'model_family_not_allowed';
  certification?: string;
}

type PlacementAbility = MongoAbility<['deploy', 'Placement' | Placement]>;

/**
 * A tenant's compliance profile as CASL rules on a {@link Placement} (DESIGN.md "Compliance
 * boundaries are data"): `deploy` is allowed, then `cannot` rules with a reason take it back for
 * a region outside the allowed regions and data zones, a region lacking a required certification
 * (one rule per certification), and a model family not allowed. CASL gives later rules priority,
 * so they are declared from the least to the most fundamental refusal: a placement breaking
 * several reports the region first.
 */
export function placementAbility(profile: ComplianceProfile): PlacementAbility {
  const { can, cannot, build } = new AbilityBuilder<PlacementAbility>(createMongoAbility);
  can('deploy', 'Placement');
  cannot('deploy', 'Placement', {
    'model.family': { $nin: profile.allowedModelFamilies },
  }).because('model_family_not_allowed');
  for (const certification of [...profile.requiredCertifications].reverse()) {
    // `$ne` on an array field matches when no element equals the value (MongoDB semantics).
    cannot('deploy', 'Placement', {
      'region.certifications': { $ne: certification },
    }).because(`region_missing_certification:${certification}`);
  }
  cannot('deploy', 'Placement', {
    'region.code': { $nin: profile.allowedRegions },
    'region.dataZone': { $nin: profile.allowedDataZones },
  }).because('region_not_allowed');
  return build();
}

/** Why the profile refuses the placement, or undefined when it allows it. */
export function placementRefusal(
  profile: ComplianceProfile,
  placement: Placement,
): PlacementRefusal | undefined {
  const ability = placementAbility(profile);
  const target = subject('Placement', { ...placement });
  const rule = ability.relevantRuleFor('deploy', target);
  if (!rule || !rule.inverted) return undefined;
  const [code, certification] = (rule.reason ?? 'region_not_allowed').split(':');
  return { code: code as PlacementRefusal['code'], ...(certification ? { certification } : {}) };
}
