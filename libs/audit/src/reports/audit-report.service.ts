import { TenantDb, TenantId } from '@app/authz';
import {
  Actor,
  actorRef,
  decodeCursor,
  encodeCursor,
  NotFound,
  Page,
  withTraceContext,
} from '@app/core';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AUDIT_QUEUE, AUDIT_REPORT_JOB } from '../audit.constants';
import { ReportNotReady } from '../audit-problems';
import type { AuditEventFilter } from '../events/audit-filter';
import type { ExportFormat } from './audit-export';

export type ReportStatus = 'queued' | 'running' | 'completed' | 'failed';

/** An audit report (API.md `GET .../audit/reports/{id}`). */
export interface AuditReport {
  id: string;
  tenantId: string;
  status: ReportStatus;
  from: Date;
  to: Date;
  format: ExportFormat;
  filters: Omit<AuditEventFilter, 'from' | 'to'>;
  rowCount: number | null;
  sha256: string | null;
  firstSequence: number | null;
  lastSequence: number | null;
  contiguous: boolean | null;
  error: string | null;
  createdBy: string | null;
  createdAt: Date;
  completedAt: Date | null;
  manifest: SignedManifest | null;
  storageKey: string | null;
}

/** The signed facts of a completed report (API.md `.../manifest`). */
export interface ReportManifest {
  reportId: string;
  tenantId: string;
  from: string;
  to: string;
  format: ExportFormat;
  filters: Omit<AuditEventFilter, 'from' | 'to'>;
  rowCount: number;
  sha256: string;
  firstSequence: number | null;
  lastSequence: number | null;
  firstPrevHash: string | null;
  lastHash: string | null;
  contiguous: boolean;
  generatedAt: string;
  algorithm: 'Ed25519';
  keyId: string;
}

/** The manifest with its Ed25519 signature (base64) over the RFC 8785 JSON of the rest. */
export interface SignedManifest extends ReportManifest {
  signature: string;
}

interface ReportRow {
  id: string;
  tenant_id: string;
  status: ReportStatus;
  from_at: Date;
  to_at: Date;
  format: ExportFormat;
  filters: Omit<AuditEventFilter, 'from' | 'to'>;
  row_count: string | null;
  sha256: string | null;
  first_sequence: string | null;
  last_sequence: string | null;
  contiguous: boolean | null;
  error: string | null;
  created_by: string | null;
  created_at: Date;
  completed_at: Date | null;
  manifest: SignedManifest | null;
  storage_key: string | null;
  cursor_at?: string;
}

const num = (value: string | null) => (value === null ? null : Number(value));

function toReport(row: ReportRow): AuditReport {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    status: row.status,
    from: row.from_at,
    to: row.to_at,
    format: row.format,
    filters: row.filters,
    rowCount: num(row.row_count),
    sha256: row.sha256,
    firstSequence: num(row.first_sequence),
    lastSequence: num(row.last_sequence),
    contiguous: row.contiguous,
    error: row.error,
    createdBy: row.created_by,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    manifest: row.manifest,
    storageKey: row.storage_key,
  };
}

/**
 * Audit reports: requested over HTTP, produced by the worker (AuditReportProcessor), read back
 * with their signed manifest. Runs in the request's tenant-scoped transaction.
 */
@Injectable()
export class AuditReportService {
  constructor(
    private readonly db: TenantDb,
    @InjectQueue(AUDIT_QUEUE) private readonly queue: Queue,
  ) {}

  /**
   * Records the request and queues the job (job id = report id, so a retried request never
   * queues twice). The worker retries until the row is visible, so queuing before the commit is
   * safe.
   */
  async request(
    tenantId: TenantId,
    input: {
      from: Date;
      to: Date;
      format: ExportFormat;
      filters: Omit<AuditEventFilter, 'from' | 'to'>;
    },
    by: Actor,
  ): Promise<AuditReport> {
    const [row]: ReportRow[] = await this.db.manager.query(
      `INSERT INTO audit_reports (tenant_id, from_at, to_at, format, filters, created_by)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [tenantId, input.from, input.to, input.format, input.filters, actorRef(by)],
    );
    await this.queue.add(AUDIT_REPORT_JOB, withTraceContext({ tenantId, reportId: row.id }), {
      jobId: row.id,
      attempts: 8,
      backoff: { type: 'exponential', delay: 250 },
      removeOnComplete: 1000,
      removeOnFail: 1000,
    });
    return toReport(row);
  }

  /** @throws NotFound */
  async get(tenantId: TenantId, id: string): Promise<AuditReport> {
    const [row]: ReportRow[] = await this.db.manager.query(
      `SELECT * FROM audit_reports WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    if (!row) throw new NotFound('No such report.');
    return toReport(row);
  }

  /** @throws NotFound | ReportNotReady (409) until the report is completed */
  async completed(
    tenantId: TenantId,
    id: string,
  ): Promise<AuditReport & { manifest: SignedManifest; storageKey: string }> {
    const report = await this.get(tenantId, id);
    if (report.status !== 'completed' || !report.manifest || !report.storageKey) {
      throw new ReportNotReady(`The report is ${report.status}.`, {
        extensions: { reportStatus: report.status },
      });
    }
    return report as AuditReport & { manifest: SignedManifest; storageKey: string };
  }

  /** Newest first. @throws ValidationFailed for a forged cursor */
  async list(tenantId: TenantId, limit: number, after?: string): Promise<Page<AuditReport>> {
    const params: unknown[] = [tenantId];
    let keyset = '';
    if (after) {
      const cursor = decodeCursor(after);
      params.push(cursor.k, cursor.id);
      keyset = `AND (created_at, id) < ($2::timestamptz, $3::uuid)`;
    }
    params.push(limit + 1);
    const rows: ReportRow[] = await this.db.manager.query(
      `SELECT *, to_json(created_at) #>> '{}' AS cursor_at FROM audit_reports
        WHERE tenant_id = $1 ${keyset} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    return {
      data: data.map(toReport),
      nextCursor: rows.length > limit ? encodeCursor({ k: last.cursor_at!, id: last.id }) : null,
    };
  }
}
