import type { FieldError } from '@app/core';

/** Certifications a region may hold and a tenant may require. */
export const CERTIFICATIONS = [
  'fedramp_moderate',
  'gdpr',
  'hipaa',
  'iso27001',
  'pci_dss',
  'soc2',
] as const;
export type Certification = (typeof CERTIFICATIONS)[number];

/** Data classification of a tenant's data, least to most sensitive. */
export const DATA_CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type DataClassification = (typeof DATA_CLASSIFICATIONS)[number];

/**
 * The shortest audit-log retention (days) each certification requires of a tenant that needs it.
 * - hipaa: six years, 45 CFR §164.316(b)(2)(i) (2,190 days; leap days ignored).
 * - fedramp_moderate: 30 months (12 hot + 18 cold), OMB M-21-31 as adopted for FedRAMP AU-11.
 * - pci_dss: one year, PCI DSS v4.0 requirement 10.5.1.
 * - soc2, iso27001: one year; neither standard fixes a period, this is the operator's policy.
 * - gdpr: no minimum (it limits retention rather than requiring it).
 */
export const AUDIT_RETENTION_MINIMUM_DAYS: Record<Certification, number> = {
  hipaa: 2190,
  fedramp_moderate: 913,
  pci_dss: 365,
  soc2: 365,
  iso27001: 365,
  gdpr: 0,
};

/** Upper bound on audit retention: 10 years. */
export const MAX_AUDIT_RETENTION_DAYS = 3653;

/**
 * A tenant's compliance boundaries (API.md `complianceProfile`). A region is permitted when it is
 * listed in `allowedRegions` or its data zone is in `allowedDataZones`, and it holds every
 * certification in `requiredCertifications`. Model families are the catalog's `family` names.
 */
export interface ComplianceProfile {
  allowedRegions: string[];
  allowedDataZones: string[];
  allowedModelFamilies: string[];
  dataClassification: DataClassification;
  requiredCertifications: Certification[];
  /** Days audit events are kept; at least what the required certifications demand. */
  auditRetentionDays: number;
}

/** A new tenant's profile when none is given: nothing permitted until staff set it. */
export const DEFAULT_COMPLIANCE_PROFILE: ComplianceProfile = {
  allowedRegions: [],
  allowedDataZones: [],
  allowedModelFamilies: [],
  dataClassification: 'confidential',
  requiredCertifications: [],
  auditRetentionDays: 365,
};

/** The catalog facts a profile is checked against. */
export interface RegionFacts {
  code: string;
  dataZone: string;
  certifications: string[];
}

/** The retention the certifications require (days), and which one requires it. */
export function requiredRetention(certifications: readonly Certification[]): {
  days: number;
  by?: Certification;
} {
  let result: { days: number; by?: Certification } = { days: 0 };
  for (const certification of certifications) {
    const days = AUDIT_RETENTION_MINIMUM_DAYS[certification];
    if (days > result.days) result = { days, by: certification };
  }
  return result;
}

/**
 * The rules a profile must meet beyond its shape, as field errors under `prefix`: every allowed
 * region exists and holds the required certifications; every allowed data zone has a region;
 * the audit retention is at least what the certifications require. Empty when valid.
 */
export function complianceProfileErrors(
  profile: ComplianceProfile,
  regions: readonly RegionFacts[],
  prefix = '',
): FieldError[] {
  const errors: FieldError[] = [];
  const byCode = new Map(regions.map((region) => [region.code, region]));
  profile.allowedRegions.forEach((code, i) => {
    const region = byCode.get(code);
    const path = `${prefix}allowedRegions[${i}]`;
    if (!region) {
      errors.push({ path, message: `unknown region "${code}" (see GET /v1/regions)` });
      return;
    }
    const missing = profile.requiredCertifications.filter(
      (c) => !region.certifications.includes(c),
    );
    if (missing.length > 0) {
      errors.push({
        path,
        message: `region "${code}" lacks required certification${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      });
    }
  });
  const zones = new Set(regions.map((region) => region.dataZone));
  profile.allowedDataZones.forEach((zone, i) => {
    if (!zones.has(zone)) {
      errors.push({
        path: `${prefix}allowedDataZones[${i}]`,
        message: `no region is in data zone "${zone}"`,
      });
    }
  });
  const retention = requiredRetention(profile.requiredCertifications);
  if (profile.auditRetentionDays < retention.days) {
    errors.push({
      path: `${prefix}auditRetentionDays`,
      message: `must be at least ${retention.days} days: ${retention.by} requires it`,
    });
  }
  return errors;
}

/** Whether the profile lets the tenant place workloads or data in `region`. */
export function regionPermitted(profile: ComplianceProfile, region: RegionFacts): boolean {
  const placed =
    profile.allowedRegions.includes(region.code) ||
    profile.allowedDataZones.includes(region.dataZone);
  return placed && profile.requiredCertifications.every((c) => region.certifications.includes(c));
}

/** Reads a stored profile (older rows may miss fields) with the defaults filled in. */
export function storedProfile(value: Partial<ComplianceProfile> | null): ComplianceProfile {
  return { ...DEFAULT_COMPLIANCE_PROFILE, ...(value ?? {}) };
}
