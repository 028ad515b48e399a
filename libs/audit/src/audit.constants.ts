/** Queue and job names of the audit library (STYLE.md: in one place, payloads keyed by name). */
export const AUDIT_QUEUE = 'audit';
export const AUDIT_REPORT_JOB = 'report';
export const AUDIT_RETENTION_JOB = 'retention';

export interface AuditJobs {
  /** Every job payload carries its tenant (STYLE.md); the processor re-enters its scope. */
  [AUDIT_REPORT_JOB]: { tenantId: string; reportId: string };
  [AUDIT_RETENTION_JOB]: { scheduledBy: string };
}
