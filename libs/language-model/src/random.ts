/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same stream on
 * every platform, which is what makes sampling with `seed` and fine-tuning shuffles reproducible.
 * Not for anything security-related.
 */
export class SeededRandom {
  private state: number;

  /** @param seed any finite number; only its low 32 bits are used */
  constructor(seed: number) {
    this.state = Math.trunc(seed) >>> 0;
  }

  /** A float uniformly distributed in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** 32-bit FNV-1a hash of a string, used for feature hashing in embeddings. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
