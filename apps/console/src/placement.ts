import type { CatalogModel, ComplianceProfile, Region } from './api';

/** A catalog model the tenant may deploy, with the regions it may run in there. */
export interface DeployableModel {
  model: CatalogModel;
  regions: string[];
}

/**
 * Whether the compliance profile lets the tenant place workloads in `region`: listed in
 * `allowedRegions` or in one of `allowedDataZones`, and holding every required certification
 * (the API's rule, `regionPermitted` in libs/tenancy compliance-profile.ts).
 */
export function regionPermitted(profile: ComplianceProfile, region: Region): boolean {
  const placed =
    profile.allowedRegions.includes(region.code) ||
    profile.allowedDataZones.includes(region.dataZone);
  return placed && profile.requiredCertifications.every((c) => region.certifications.includes(c));
}

/**
 * The models of `models` that tenant `tenantId` may deploy, each with the regions of the catalog
 * where it is offered and the profile permits: base models and the tenant's own fine-tuned ones,
 * of an allowed family, offered in at least one permitted region (the checks of
 * `POST .../endpoints`, libs/endpoints placement.policy.ts; the API makes them again).
 */
export function deployableModels(
  tenantId: string,
  profile: ComplianceProfile,
  models: readonly CatalogModel[],
  regions: readonly Region[],
): DeployableModel[] {
  const byCode = new Map(regions.map((region) => [region.code, region]));
  return models.flatMap((model) => {
    if (model.tenantId !== null && model.tenantId !== tenantId) return [];
    if (!profile.allowedModelFamilies.includes(model.family)) return [];
    const permitted = model.regions.filter((code) => {
      const region = byCode.get(code);
      return region !== undefined && regionPermitted(profile, region);
    });
    return permitted.length > 0 ? [{ model, regions: permitted }] : [];
  });
}
