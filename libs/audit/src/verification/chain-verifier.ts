import { AuditEventRecord, chainHash } from '../events/canonical';

/** Why a chain stops verifying at a sequence. */
export type ChainFault =
  | 'hash_mismatch'
  | 'broken_link'
  | 'gap'
  | 'reordered'
  | 'truncated'
  | 'bad_start'
  | 'beyond_head'
  | 'head_missing'
  | 'bad_checkpoint';

export type VerificationResult =
  | { ok: true; checked: number; lastSequence: number | null; lastHash: string | null }
  | { ok: false; checked: number; firstBadSequence: number; reason: ChainFault; detail: string };

/** Where verification starts: the link the first event must carry. */
export interface ChainAnchor {
  /** The sequence before the first expected event (0 at genesis, or a checkpoint's). */
  sequence: number;
  /** That event's hash (hex), or null when it is unknown (a range starting mid-chain). */
  hash: string | null;
}

/**
 * Recomputes a chain event by event, in the order given (which must be sequence order), and
 * names the first event that does not verify:
 * - `hash_mismatch`: the stored hash is not SHA-256(prevHash ‖ canonical event): the event was
 *   edited (or its sequence changed, as in a swap);
 * - `broken_link`: prevHash is not the previous event's hash: an event before it was replaced;
 * - `gap`: a sequence is missing (deleted), reported at the missing sequence;
 * - `reordered`: a sequence comes again or goes back;
 * - `bad_start`: the first event does not follow the anchor (genesis or checkpoint).
 * Equal timestamps are fine: order is the sequence, not the clock.
 *
 * Feed events with {@link ChainVerifier.push}; call {@link ChainVerifier.result} at the end.
 * Memory stays constant, so a chain of any length streams through.
 */
export class ChainVerifier {
  private checked = 0;
  private previousSequence: number;
  private previousHash: string | null;
  private fault?: Extract<VerificationResult, { ok: false }>;

  constructor(anchor: ChainAnchor = { sequence: 0, hash: '0'.repeat(64) }) {
    this.previousSequence = anchor.sequence;
    this.previousHash = anchor.hash;
  }

  /** @returns false once a fault is found (further events are ignored). */
  push(event: AuditEventRecord & { prevHash: string; hash: string }): boolean {
    if (this.fault) return false;
    const expected = this.previousSequence + 1;
    if (event.sequence <= this.previousSequence) {
      return this.fail(
        event.sequence,
        'reordered',
        `sequence ${event.sequence} after ${this.previousSequence}`,
      );
    }
    if (event.sequence > expected) {
      return this.fail(
        expected,
        'gap',
        `sequence ${expected} is missing (next is ${event.sequence})`,
      );
    }
    const recomputed = chainHash(Buffer.from(event.prevHash, 'hex'), event).toString('hex');
    if (recomputed !== event.hash) {
      return this.fail(event.sequence, 'hash_mismatch', 'the stored hash does not match the event');
    }
    if (this.previousHash !== null && event.prevHash !== this.previousHash) {
      return this.fail(
        event.sequence,
        this.checked === 0 ? 'bad_start' : 'broken_link',
        `prevHash does not match the hash of sequence ${this.previousSequence}`,
      );
    }
    this.checked += 1;
    this.previousSequence = event.sequence;
    this.previousHash = event.hash;
    return true;
  }

  /**
   * @param head the chain's recorded last sequence and hash, when the whole tail was read: a
   *   chain that ends early was truncated.
   */
  result(head?: { sequence: number; hash: string }): VerificationResult {
    if (this.fault) return this.fault;
    if (head && head.sequence > this.previousSequence) {
      this.fail(
        this.previousSequence + 1,
        'truncated',
        `the chain head is at sequence ${head.sequence}, events end at ${this.previousSequence}`,
      );
      return this.fault!;
    }
    if (
      head &&
      head.sequence === this.previousSequence &&
      this.previousHash !== null &&
      head.hash !== this.previousHash
    ) {
      this.fail(head.sequence, 'hash_mismatch', 'the last event does not match the chain head');
      return this.fault!;
    }
    return {
      ok: true,
      checked: this.checked,
      lastSequence: this.checked ? this.previousSequence : null,
      lastHash: this.checked ? this.previousHash : null,
    };
  }

  private fail(sequence: number, reason: ChainFault, detail: string): false {
    this.fault = { ok: false, checked: this.checked, firstBadSequence: sequence, reason, detail };
    return false;
  }
}
