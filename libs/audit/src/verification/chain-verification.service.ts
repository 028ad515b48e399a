import { TenantDb } from '@app/authz';
import { Injectable } from '@nestjs/common';
import canonicalize from 'canonicalize';
import {
  AUDIT_EVENT_COLUMNS,
  AuditEventRow,
  toAuditEvent,
  utcMicrosSql,
} from '../events/audit-event-row';
import type { CheckpointStatement } from '../retention/audit-retention.service';
import { SigningKeyService } from '../signing/signing-key.service';
import { ChainAnchor, ChainVerifier, VerificationResult } from './chain-verifier';

const BATCH = 2000;

type Fault = Extract<VerificationResult, { ok: false }>;
const fault = (firstBadSequence: number, reason: Fault['reason'], detail: string): Fault => ({
  ok: false,
  checked: 0,
  firstBadSequence,
  reason,
  detail,
});

/**
 * Recomputes a chain from the database (API.md `GET .../audit/verify`), streaming it in batches
 * of {@link BATCH} events so memory stays flat. It starts at the chain's origin: genesis, or the
 * latest retention checkpoint, whose Ed25519 signature must verify with a trusted key (key
 * files, never the database). It also checks what surrounds the events: the chain head must
 * exist when events do, no event may lie beyond it, and without `to` the events must reach it;
 * a range is checked against its neighbours, so a deletion at either edge shows.
 */
@Injectable()
export class ChainVerificationService {
  constructor(
    private readonly db: TenantDb,
    private readonly keys: SigningKeyService,
  ) {}

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
    const [stored]: { max: string | null }[] = await manager.query(
      `SELECT max(sequence)::text AS max FROM audit_events WHERE tenant_id = $1`,
      [chain],
    );
    const maxStored = stored.max === null ? 0 : Number(stored.max);
    const origin = await this.origin(chain);
    if ('ok' in origin) return origin;
    const anchor = await this.anchor(chain, origin, range.from);
    if ('ok' in anchor) return anchor;
    const verifier = new ChainVerifier(anchor);
    let after = anchor.sequence;
    for (;;) {
      const params: unknown[] = [chain, after, BATCH, Math.max(headSequence, maxStored)];
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
    if (!range.to) {
      const walked = verifier.result(
        head ? { sequence: headSequence, hash: head.last_hash } : undefined,
      );
      if (!walked.ok) return walked;
      // Events the head does not account for: planted past it, or a head deleted.
      if (maxStored > headSequence) {
        return head
          ? {
              ...fault(
                headSequence + 1,
                'beyond_head',
                `events go on to ${maxStored}, past the chain head at ${headSequence}`,
              ),
              checked: walked.checked,
            }
          : {
              ...fault(1, 'head_missing', `the chain has events up to ${maxStored} but no head`),
              checked: walked.checked,
            };
      }
      return walked;
    }
    const result = verifier.result();
    if (!result.ok) return result;
    // The range's right edge: the next event must follow on, or the head must end here.
    const last = result.lastSequence ?? anchor.sequence;
    const [next]: { sequence: string }[] = await manager.query(
      `SELECT min(sequence)::text AS sequence FROM audit_events
        WHERE tenant_id = $1 AND sequence > $2 AND sequence <= $3`,
      [chain, last, headSequence],
    );
    if (next?.sequence && Number(next.sequence) !== last + 1) {
      return {
        ...fault(last + 1, 'gap', `sequence ${last + 1} is missing`),
        checked: result.checked,
      };
    }
    if (!next?.sequence && headSequence > last) {
      return {
        ...fault(
          last + 1,
          'truncated',
          `the chain head is at ${headSequence}, events end at ${last}`,
        ),
        checked: result.checked,
      };
    }
    return result;
  }

  /** Genesis, or the latest retention checkpoint once its signature verifies. */
  private async origin(chain: string): Promise<ChainAnchor | Fault> {
    const [checkpoint]: {
      through_sequence: string;
      through_hash: string;
      through_occurred_at: string;
      dropped_count: string;
      key_id: string;
      signature: string;
    }[] = await this.db.manager.query(
      `SELECT through_sequence::text, encode(through_hash, 'hex') AS through_hash,
              ${utcMicrosSql('through_occurred_at')} AS through_occurred_at,
              dropped_count::text, key_id, encode(signature, 'base64') AS signature
         FROM audit_checkpoints WHERE tenant_id = $1
        ORDER BY audit_checkpoints.through_sequence DESC LIMIT 1`,
      [chain],
    );
    if (!checkpoint) return { sequence: 0, hash: '0'.repeat(64) };
    const statement: CheckpointStatement = {
      tenantId: chain,
      throughSequence: Number(checkpoint.through_sequence),
      throughHash: checkpoint.through_hash,
      throughOccurredAt: checkpoint.through_occurred_at,
      droppedCount: Number(checkpoint.dropped_count),
      keyId: checkpoint.key_id,
    };
    const valid = await this.keys.verifyTrusted(
      Buffer.from(canonicalize(statement) as string, 'utf8'),
      checkpoint.key_id,
      Buffer.from(checkpoint.signature.replace(/\s/g, ''), 'base64'),
    );
    if (!valid) {
      return fault(
        statement.throughSequence,
        'bad_checkpoint',
        `the retention checkpoint through sequence ${statement.throughSequence} is not signed by a trusted key`,
      );
    }
    return { sequence: statement.throughSequence, hash: statement.throughHash };
  }

  /** The link the first verified event must carry; a missing event just before `from` is a gap. */
  private async anchor(
    chain: string,
    origin: ChainAnchor,
    from?: Date,
  ): Promise<ChainAnchor | Fault> {
    if (!from) return origin;
    const manager = this.db.manager;
    const [first]: { sequence: string | null }[] = await manager.query(
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
    if (!row)
      return fault(previous, 'gap', `sequence ${previous}, just before the range, is missing`);
    return { sequence: previous, hash: row.hash };
  }
}
