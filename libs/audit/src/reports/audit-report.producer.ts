import { asTenantId, TenantDb } from '@app/authz';
import { Injectable, Logger } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { finished } from 'node:stream/promises';
import { AuditService } from '../events/audit.service';
import { SigningKeyService } from '../signing/signing-key.service';
import { exportAuditEvents } from './audit-export';
import type { ReportManifest, ReportStatus, SignedManifest } from './audit-report.service';
import { ReportStorage } from './report-storage';

interface ReportRow {
  id: string;
  tenant_id: string;
  status: ReportStatus;
  from_at: Date;
  to_at: Date;
  format: 'jsonl' | 'csv';
  filters: Record<string, string>;
}

/** Thrown while the report row is not visible yet (its request has not committed): retried. */
export class ReportNotVisibleYet extends Error {}

/**
 * Produces a report in the worker: streams the tenant's events (keyset batches, backpressure) to a
 * file in {@link ReportStorage}, then signs the manifest with the audit signing key. Idempotent:
 * a completed report is left alone; a retried one starts its file over.
 */
@Injectable()
export class AuditReportProducer {
  private readonly logger = new Logger('AuditReportProducer');

  constructor(
    private readonly db: TenantDb,
    private readonly storage: ReportStorage,
    private readonly keys: SigningKeyService,
    private readonly audit: AuditService,
  ) {}

  async produce(
    input: { tenantId: string; reportId: string },
    finalAttempt: boolean,
  ): Promise<SignedManifest | null> {
    const tenantId = asTenantId(input.tenantId);
    const report = await this.db.inTenant(tenantId, async (manager) => {
      const [row]: ReportRow[] = await manager.query(
        `SELECT id, tenant_id, status, from_at, to_at, format, filters FROM audit_reports
          WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
        [tenantId, input.reportId],
      );
      if (!row) throw new ReportNotVisibleYet(`report ${input.reportId} is not visible yet`);
      if (row.status === 'completed') return null;
      await manager.query(
        `UPDATE audit_reports SET status = 'running', error = NULL WHERE id = $1`,
        [row.id],
      );
      return row;
    });
    if (!report) return null;
    const storageKey = `${tenantId}/${report.id}.${report.format}`;
    const file = await this.storage.openForWrite(storageKey);
    try {
      const summary = await this.db.run(
        { kind: 'tenant', tenantId },
        async () => {
          const result = await exportAuditEvents(this.db.client, file.stream, {
            chain: tenantId,
            filter: { ...report.filters, from: report.from_at, to: report.to_at },
            format: report.format,
          });
          file.stream.end();
          await finished(file.stream);
          return result;
        },
        { readOnly: true, repeatableRead: true },
      );
      await file.commit();
      const { keyId } = await this.keys.current();
      const manifest: ReportManifest = {
        reportId: report.id,
        tenantId,
        from: report.from_at.toISOString(),
        to: report.to_at.toISOString(),
        format: report.format,
        filters: report.filters,
        rowCount: summary.rowCount,
        sha256: summary.sha256,
        firstSequence: summary.firstSequence,
        lastSequence: summary.lastSequence,
        firstPrevHash: summary.firstPrevHash,
        lastHash: summary.lastHash,
        contiguous: summary.contiguous,
        generatedAt: new Date().toISOString(),
        algorithm: 'Ed25519',
        keyId,
      };
      const { signature } = await this.keys.sign(
        Buffer.from(canonicalize(manifest) as string, 'utf8'),
      );
      const signed: SignedManifest = { ...manifest, signature };
      await this.db.inTenant(tenantId, async (manager) => {
        await this.audit.append(manager, {
          tenantId,
          actor: { type: 'system', id: 'audit-reports' },
          action: 'audit_report.complete',
          resource: { type: 'audit_report', id: report.id },
          outcome: 'success',
          reason: `${summary.rowCount} events, SHA-256 ${summary.sha256}, signed by key ${keyId}`,
        });
        await manager.query(
          `UPDATE audit_reports SET status = 'completed', row_count = $2, sha256 = $3,
             first_sequence = $4, last_sequence = $5, first_prev_hash = $6, last_hash = $7,
             contiguous = $8, key_id = $9, signature = $10, manifest = $11, storage_key = $12,
             completed_at = now()
           WHERE id = $1`,
          [
            report.id,
            summary.rowCount,
            summary.sha256,
            summary.firstSequence,
            summary.lastSequence,
            summary.firstPrevHash,
            summary.lastHash,
            summary.contiguous,
            keyId,
            signature,
            signed,
            storageKey,
          ],
        );
      });
      this.logger.log({ reportId: report.id, rows: summary.rowCount }, 'audit report completed');
      return signed;
    } catch (error) {
      file.stream.destroy();
      await file.abort();
      await this.db.inTenant(tenantId, (manager) =>
        manager.query(`UPDATE audit_reports SET status = $2, error = $3 WHERE id = $1`, [
          report.id,
          finalAttempt ? 'failed' : 'queued',
          (error as Error).message.slice(0, 500),
        ]),
      );
      throw error;
    }
  }
}
