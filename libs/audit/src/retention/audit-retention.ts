/** A chain's retention: events older than `days` are dropped (tenancy provides these). */
export interface AuditRetentionPolicy {
  tenantId: string;
  days: number;
}

/** What retention needs from the tenancy library: each tenant's audit retention (days). */
export interface AuditRetentionSource {
  retentionPolicies(): Promise<AuditRetentionPolicy[]>;
}
export const AUDIT_RETENTION_SOURCE = Symbol('AUDIT_RETENTION_SOURCE');
