import { TenantDb } from '@app/authz';
import { Injectable } from '@nestjs/common';
import { AUDIT_EVENT_COLUMNS, AuditEventRow, toAuditEvent } from '../events/audit-event-row';
import { ChainAnchor, ChainVerifier, VerificationResult } from './chain-verifier';

const BATCH = 2000;

/**
 * Recomputes a chain from the database (API.md `GET .../audit/verify`), streaming it in batches
 * of {@link BATCH} events so memory stays flat. Without `from` it starts at the chain's origin:
 * genesis, or the latest retention checkpoint (whose hash the first remaining event must carry).
 * Without `to` it also checks the chain head, so a truncated tail is reported.
 */
@Injectable()
export class ChainVerificationService {
  constructor(private readonly db: TenantDb) {}

  async verify(chain: string, range: { from?: Date; to?: Date } = {}): Promise<VerificationResult> {
    const manager = this.db.manager;
    // The head first: every event up to it has committed (they are appended in the same
    // transaction that moves the head), and events appended while we read are left out.
    const [head]: { last_sequence: string; last_hash: string }[] = await manager.query(
      `SELECT last_sequence::text, encode(last_hash, 'hex') AS last_hash
         FROM audit_chain_heads WHERE tenant_id = $1`,
      [chain],
    );
    const headSequence = head ? Number(head.last_sequence) : 0;
    const anchor = await this.anchor(chain, range.from);
    const verifier = new ChainVerifier(anchor);
    let after = anchor.sequence;
    for (;;) {
      const params: unknown[] = [chain, after, BATCH, headSequence];
      let where = 'e.tenant_id = $1 AND e.sequence > $2 AND e.sequence <= $4';
      if (range.to) {
        params.push(range.to);
        where += ` AND e.occurred_at < $${params.length}`;
      }
      const rows: AuditEventRow[] = await manager.query(
        `SELECT ${AUDIT_EVENT_COLUMNS} FROM audit_events e WHERE ${where}
          ORDER BY e.sequence LIMIT $3`,
        params,
      );
      for (const row of rows) if (!verifier.push(toAuditEvent(row))) return verifier.result();
      if (rows.length < BATCH) break;
      after = Number(rows[rows.length - 1].sequence);
    }
    if (range.to || !head) return verifier.result();
    return verifier.result({ sequence: headSequence, hash: head.last_hash });
  }

  /** The link the first verified event must carry. */
  private async anchor(chain: string, from?: Date): Promise<ChainAnchor> {
    const manager = this.db.manager;
    const [checkpoint]: { through_sequence: string; through_hash: string }[] = await manager.query(
      `SELECT through_sequence::text, encode(through_hash, 'hex') AS through_hash
         FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY through_sequence DESC LIMIT 1`,
      [chain],
    );
    const origin: ChainAnchor = checkpoint
      ? { sequence: Number(checkpoint.through_sequence), hash: checkpoint.through_hash }
      : { sequence: 0, hash: '0'.repeat(64) };
    if (!from) return origin;
    const [first]: { sequence: string }[] = await manager.query(
      `SELECT min(sequence)::text AS sequence FROM audit_events
        WHERE tenant_id = $1 AND occurred_at >= $2`,
      [chain, from],
    );
    if (!first?.sequence) return { sequence: Number.MAX_SAFE_INTEGER - 1, hash: null };
    const previous = Number(first.sequence) - 1;
    if (previous <= origin.sequence) return origin;
    const [row]: { hash: string }[] = await manager.query(
      `SELECT encode(hash, 'hex') AS hash FROM audit_events WHERE tenant_id = $1 AND sequence = $2`,
      [chain, previous],
    );
    return { sequence: previous, hash: row?.hash ?? null };
  }
}
