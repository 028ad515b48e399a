import { asTenantId, TenantDb } from '@app/authz';
import { Inject, Injectable, Logger } from '@nestjs/common';
import canonicalize from 'canonicalize';
import { utcMicrosSql } from '../events/audit-event-row';
import { AuditService } from '../events/audit.service';
import { SigningKeyService } from '../signing/signing-key.service';
import { AUDIT_RETENTION_SOURCE, AuditRetentionSource } from './audit-retention';

/** Events dropped per checkpoint, so no single statement deletes an unbounded range. */
const BATCH = 50_000;

/** The signed statement of a checkpoint (RFC 8785 JSON, Ed25519). */
export interface CheckpointStatement {
  tenantId: string;
  throughSequence: number;
  throughHash: string;
  throughOccurredAt: string;
  droppedCount: number;
  keyId: string;
}

/**
 * Drops audit events older than each tenant's retention (its compliance profile's
 * `auditRetentionDays`), a prefix of its chain at a time. Before each drop it records a signed
 * checkpoint of the last dropped event's sequence and hash, so the rest of the chain still
 * verifies from there (ChainVerificationService starts at the latest checkpoint). Deleting is
 * possible only through `audit_drop_through()`, which requires that checkpoint.
 */
@Injectable()
export class AuditRetentionService {
  private readonly logger = new Logger('AuditRetentionService');

  constructor(
    private readonly db: TenantDb,
    private readonly keys: SigningKeyService,
    private readonly audit: AuditService,
    @Inject(AUDIT_RETENTION_SOURCE) private readonly source: AuditRetentionSource,
  ) {}

  /** @returns events dropped per tenant (tenants with nothing to drop are left out) */
  async run(now = new Date()): Promise<Record<string, number>> {
    const dropped: Record<string, number> = {};
    for (const policy of await this.source.retentionPolicies()) {
      const cutoff = new Date(now.getTime() - policy.days * 86_400_000);
      let total = 0;
      for (;;) {
        const count = await this.dropBatch(policy.tenantId, cutoff, policy.days);
        total += count;
        if (count < BATCH) break;
      }
      if (total) dropped[policy.tenantId] = total;
    }
    if (Object.keys(dropped).length) this.logger.log({ dropped }, 'audit retention applied');
    return dropped;
  }

  private dropBatch(tenant: string, cutoff: Date, days: number): Promise<number> {
    const tenantId = asTenantId(tenant);
    return this.db.inTenant(tenantId, async (manager) => {
      const [range]: { first: string | null }[] = await manager.query(
        `SELECT min(sequence)::text AS first FROM audit_events WHERE tenant_id = $1`,
        [tenantId],
      );
      if (!range.first) return 0;
      const [last]: { sequence: string; hash: string; occurred_at: string }[] = await manager.query(
        `SELECT sequence::text, encode(hash, 'hex') AS hash,
                ${utcMicrosSql('occurred_at')} AS occurred_at
           FROM audit_events
          WHERE tenant_id = $1 AND occurred_at < $2 AND sequence < $3::bigint + $4
          ORDER BY audit_events.sequence DESC LIMIT 1`,
        [tenantId, cutoff, range.first, BATCH],
      );
      if (!last) return 0;
      const { keyId } = await this.keys.current();
      const statement: CheckpointStatement = {
        tenantId,
        throughSequence: Number(last.sequence),
        throughHash: last.hash,
        throughOccurredAt: last.occurred_at,
        droppedCount: Number(last.sequence) - Number(range.first) + 1,
        keyId,
      };
      const { signature } = await this.keys.sign(
        Buffer.from(canonicalize(statement) as string, 'utf8'),
      );
      await manager.query(
        `INSERT INTO audit_checkpoints (tenant_id, through_sequence, through_hash,
           through_occurred_at, dropped_count, key_id, signature)
         VALUES ($1, $2, decode($3, 'hex'), $4::timestamptz, $5, $6, decode($7, 'base64'))`,
        [
          tenantId,
          statement.throughSequence,
          statement.throughHash,
          statement.throughOccurredAt,
          statement.droppedCount,
          keyId,
          signature,
        ],
      );
      const [result]: { dropped: string }[] = await manager.query(
        `SELECT audit_drop_through($1, $2)::text AS dropped`,
        [tenantId, statement.throughSequence],
      );
      // The chain records its own pruning (a system action), after the checkpoint it starts from.
      await this.audit.append(manager, {
        tenantId,
        actor: { type: 'system', id: 'audit-retention' },
        action: 'audit.retention',
        resource: { type: 'audit_checkpoint', id: String(statement.throughSequence) },
        outcome: 'success',
        reason: `dropped ${result.dropped} events through sequence ${statement.throughSequence} (retention ${days} days)`,
      });
      return Number(result.dropped);
    });
  }
}
