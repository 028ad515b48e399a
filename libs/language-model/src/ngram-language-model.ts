import { randomInt } from 'node:crypto';
import { fnv1a, SeededRandom } from './random';
import {
  decode,
  encode,
  END_OF_TEXT_TOKEN,
  TOKENIZER_ENCODING,
  VOCABULARY_SIZE,
} from './tokenizer';

/** Dimensions of {@link NgramLanguageModel.embed} vectors. */
export const EMBEDDING_DIMENSIONS = 256;

/** Default context window of the local models, in tokens (prompt plus completion). */
export const DEFAULT_CONTEXT_LENGTH = 8192;

/** Options of {@link NgramLanguageModel.train}. */
export interface TrainOptions {
  /** n of the n-gram: the model conditions on the last `order − 1` tokens. 1–6, default 3. */
  order?: number;
  /** Absolute discount D subtracted from every observed count, 0 < D < 1; default 0.75. */
  discount?: number;
  /** Seeds the embedding feature hash (and names the model's randomness); default 0. */
  seed?: number;
  /** Context window in tokens that servers enforce for this model; default 8192. */
  contextLength?: number;
}

/** Sampling options of {@link NgramLanguageModel.generate}. */
export interface GenerateOptions {
  /** Upper bound on generated tokens (the end-of-text token is not counted); ≥ 0. */
  maxTokens: number;
  /** 0 picks the most likely token (greedy); higher flattens the distribution. 0–2, default 1. */
  temperature?: number;
  /** Nucleus sampling: sample only from the most likely tokens whose mass reaches `topP`. (0, 1]. */
  topP?: number;
  /** Same seed, prompt, model and options give the same completion; random when absent. */
  seed?: number;
  /** Up to 4 strings; generation ends before the first occurrence of any, which is not returned. */
  stop?: readonly string[];
}

/** Why generation ended, named as in OpenAI's `finish_reason`. */
export type FinishReason = 'stop' | 'length';

/** The return value of the {@link NgramLanguageModel.generate} generator. */
export interface GenerationResult {
  /** The whole completion (the concatenation of every yielded piece). */
  text: string;
  /** `stop` on the end-of-text token or a stop sequence, `length` at `maxTokens`. */
  finishReason: FinishReason;
  /** Tokens sampled, the end-of-text token excluded (OpenAI's `completion_tokens`). */
  completionTokens: number;
}

/** Counts of one context: how often each token followed it. */
interface ContextStats {
  /** Σ of the counts in `next`. */
  total: number;
  /** Σ min(count, D) over `next`: the probability mass (× total) given to the lower order. */
  mass: number;
  next: Map<number, number>;
}

/** Versioned, JSON-serialisable form of a model; see `artifact.ts` for files. */
export interface ModelArtifact {
  format: 'acp-ngram-lm';
  version: 1;
  tokenizer: string;
  order: number;
  discount: number;
  seed: number;
  contextLength: number;
  /** Free-form facts about where the model came from (base id, fine-tuning job, …). */
  metadata: Record<string, unknown>;
  /**
   * `tables[k]` holds the contexts of k tokens: `[contextKey, [token, count, token, count, …]]`,
   * where `contextKey` is the context's token ids joined with `,` (`""` for k = 0).
   */
  tables: Array<Array<[string, number[]]>>;
}

/** Thrown by {@link NgramLanguageModel.fromArtifact} for a file that is not a model artifact. */
export class InvalidArtifactError extends Error {
  readonly code = 'invalid_model_artifact';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArtifactError';
  }
}

/**
 * A token n-gram language model over `cl100k_base` tokens with interpolated absolute discounting
 * (Ney, Essen & Kneser 1994, "On structuring probabilistic dependences in stochastic language
 * modelling"; the interpolated form of Chen & Goodman 1998, §2.4):
 *
 *   P(w | h) = (max(c(h,w) − D, 0) + M(h) · P(w | h′)) / c(h),   M(h) = Σ_v min(c(h,v), D)
 *
 * where h′ is h without its oldest token, and the recursion ends in a uniform distribution over
 * the whole tokenizer vocabulary, so every token has a non-zero probability and losses are finite.
 * Plain counts at every order (not Kneser–Ney continuation counts) because fine-tuning adds
 * *weighted, fractional* counts incrementally, and M(h) keeps the distribution normalised for any
 * non-negative counts; continuation counts are type counts and do not take weights.
 *
 * Training is counting, so it is deterministic; only sampling is random, and seeded.
 */
export class NgramLanguageModel {
  /** `tables[k]`: contexts of k tokens (k = 0 … order − 1). */
  private readonly tables: Map<string, ContextStats>[];
  /** Every token id seen as a target, densely indexed for the sampling arrays. */
  private readonly types: number[] = [];
  private readonly typeIndex = new Map<number, number>();
  /** P(w) of the unigram level for every seen type; rebuilt lazily after counts change. */
  private unigramCache: Float64Array | null = null;

  private constructor(
    readonly order: number,
    readonly discount: number,
    readonly seed: number,
    readonly contextLength: number,
  ) {
    this.tables = Array.from({ length: order }, () => new Map<string, ContextStats>());
  }

  /**
   * Trains a model on plain-text documents. Each document is framed by the end-of-text token, so
   * the model learns how documents start and when they end (ending a completion).
   *
   * @param texts documents (e.g. paragraphs of a corpus); empty ones are skipped
   * @throws RangeError for an order outside 1–6 or a discount outside (0, 1)
   */
  static train(texts: readonly string[], options: TrainOptions = {}): NgramLanguageModel {
    const order = options.order ?? 3;
    const discount = options.discount ?? 0.75;
    if (!Number.isInteger(order) || order < 1 || order > 6) {
      throw new RangeError(`order must be an integer in 1..6, got ${order}`);
    }
    if (!(discount > 0 && discount < 1)) {
      throw new RangeError(`discount must be in (0, 1), got ${discount}`);
    }
    const model = new NgramLanguageModel(
      order,
      discount,
      options.seed ?? 0,
      options.contextLength ?? DEFAULT_CONTEXT_LENGTH,
    );
    for (const text of texts) {
      if (text.length > 0) model.addSequence([], [...encode(text), END_OF_TEXT_TOKEN], 1);
    }
    return model;
  }

  /** Rebuilds a model from {@link toArtifact}'s output. @throws InvalidArtifactError */
  static fromArtifact(artifact: ModelArtifact): NgramLanguageModel {
    if (artifact?.format !== 'acp-ngram-lm' || artifact.version !== 1) {
      throw new InvalidArtifactError('not an acp-ngram-lm version 1 artifact');
    }
    if (artifact.tokenizer !== TOKENIZER_ENCODING) {
      throw new InvalidArtifactError(
        `artifact uses tokenizer ${artifact.tokenizer}, this build ${TOKENIZER_ENCODING}`,
      );
    }
    if (!Array.isArray(artifact.tables) || artifact.tables.length !== artifact.order) {
      throw new InvalidArtifactError('artifact tables do not match its order');
    }
    const model = new NgramLanguageModel(
      artifact.order,
      artifact.discount,
      artifact.seed,
      artifact.contextLength,
    );
    artifact.tables.forEach((entries, k) => {
      for (const [key, flat] of entries) {
        const stats = model.context(k, key);
        for (let i = 0; i < flat.length; i += 2) model.increment(stats, flat[i], flat[i + 1]);
      }
    });
    for (const token of model.tables[0].get('')?.next.keys() ?? []) model.addType(token);
    return model;
  }

  /** The model as a versioned JSON-serialisable artifact. */
  toArtifact(metadata: Record<string, unknown> = {}): ModelArtifact {
    return {
      format: 'acp-ngram-lm',
      version: 1,
      tokenizer: TOKENIZER_ENCODING,
      order: this.order,
      discount: this.discount,
      seed: this.seed,
      contextLength: this.contextLength,
      metadata,
      tables: this.tables.map((table) =>
        [...table].map(([key, stats]): [string, number[]] => [
          key,
          [...stats.next].flatMap(([token, count]) => [token, count]),
        ]),
      ),
    };
  }

  /** A deep copy whose counts can change without touching this model. */
  clone(): NgramLanguageModel {
    return NgramLanguageModel.fromArtifact(this.toArtifact());
  }

  /** Distinct tokens the model has seen (its effective vocabulary). */
  get vocabularySeen(): number {
    return this.types.length;
  }

  /** Total training tokens seen (weighted), end-of-text tokens included. */
  get trainedTokens(): number {
    return this.tables[0].get('')?.total ?? 0;
  }

  /**
   * Adds the n-gram counts of `targets` following `context` (prompt tokens, not counted
   * themselves), each with `weight`: the training step of both base training and fine-tuning.
   *
   * @param context tokens before the targets; the start of a document when empty
   * @param targets tokens whose occurrences are counted, usually ending with the end-of-text token
   * @param weight count added per occurrence, > 0 (fractional for fine-tuning)
   */
  addSequence(context: readonly number[], targets: readonly number[], weight: number): void {
    const sequence = [...this.startPadding(), ...context, ...targets];
    for (let i = sequence.length - targets.length; i < sequence.length; i++) {
      const target = sequence[i];
      this.addType(target);
      for (let k = 0; k < this.order; k++) {
        const key = sequence.slice(i - k, i).join(',');
        this.increment(this.context(k, key), target, weight);
      }
    }
    this.unigramCache = null;
  }

  /**
   * Probability of `token` after `history` (the tokens so far, oldest first; only the last
   * `order − 1` matter). Always > 0.
   */
  probability(history: readonly number[], token: number): number {
    const padded = [...this.startPadding(), ...history];
    let p = 1 / VOCABULARY_SIZE;
    for (let k = 0; k < this.order; k++) {
      const stats = this.tables[k].get(padded.slice(padded.length - k).join(','));
      if (!stats || stats.total === 0) break; // a longer context of an unseen one is unseen too
      const count = stats.next.get(token) ?? 0;
      p = (Math.max(count - this.discount, 0) + stats.mass * p) / stats.total;
    }
    return p;
  }

  /**
   * Cross-entropy of `targets` following `context`: Σ −ln P(target | history) in nats, and the
   * number of targets scored. The building block of losses and perplexity.
   */
  score(context: readonly number[], targets: readonly number[]): { nats: number; tokens: number } {
    const history = [...context];
    let nats = 0;
    for (const token of targets) {
      nats -= Math.log(this.probability(history, token));
      history.push(token);
    }
    return { nats, tokens: targets.length };
  }

  /**
   * Mean per-token cross-entropy of a document, in nats per token: its tokens and the closing
   * end-of-text token, each given everything before it from the document start. Lower means the
   * text is more like the training data; `Math.exp(logLoss)` is the perplexity.
   */
  logLoss(text: string): number {
    const { nats, tokens } = this.score([], [...encode(text), END_OF_TEXT_TOKEN]);
    return nats / tokens;
  }

  /**
   * Samples a completion of `prompt`, yielding text pieces as soon as they are decoded (one per
   * token, except that bytes of a split UTF-8 character are held until it is whole and text that
   * could begin a stop sequence is held until it cannot). The generator's return value is the
   * {@link GenerationResult}. Pulling the next piece is what does the work, so a consumer that
   * stops iterating (a disconnected client) stops generation.
   *
   * @param prompt text, or already-encoded tokens
   */
  *generate(
    prompt: string | readonly number[],
    options: GenerateOptions,
  ): Generator<string, GenerationResult, void> {
    const temperature = options.temperature ?? 1;
    const topP = options.topP ?? 1;
    const stops = (options.stop ?? []).filter((stop) => stop.length > 0);
    const random = new SeededRandom(options.seed ?? randomInt(2 ** 31));
    const history = [
      ...this.startPadding(),
      ...(typeof prompt === 'string' ? encode(prompt) : prompt),
    ];
    let text = '';
    let emitted = 0;
    let pending: number[] = [];
    let completionTokens = 0;
    let finishReason: FinishReason = 'length';

    while (completionTokens < options.maxTokens) {
      const token = this.sample(history, temperature, topP, random);
      if (token === END_OF_TEXT_TOKEN) {
        finishReason = 'stop';
        break;
      }
      completionTokens++;
      history.push(token);
      pending.push(token);
      const piece = decode(pending);
      // A character split across tokens decodes to U+FFFD until its last byte arrives (≤ 4).
      if (piece.endsWith('\uFFFD') && pending.length < 4) continue;
      pending = [];
      text += piece;
      const stopAt = firstStop(text, stops, emitted);
      if (stopAt >= 0) {
        text = text.slice(0, stopAt);
        finishReason = 'stop';
        break;
      }
      const safe = text.length - heldForStop(text, stops);
      if (safe > emitted) {
        yield text.slice(emitted, safe);
        emitted = safe;
      }
    }
    if (finishReason === 'length' && pending.length > 0) text += decode(pending);
    if (text.length > emitted) yield text.slice(emitted);
    return { text, finishReason, completionTokens };
  }

  /** Runs {@link generate} to the end and returns its result. */
  complete(prompt: string | readonly number[], options: GenerateOptions): GenerationResult {
    const generator = this.generate(prompt, options);
    for (;;) {
      const step = generator.next();
      if (step.done) return step.value;
    }
  }

  /**
   * A deterministic {@link EMBEDDING_DIMENSIONS}-dimensional embedding, L2-normalised (so the dot
   * product of two embeddings is their cosine similarity). Words are lower-cased and tokenised;
   * each token unigram and adjacent-token bigram is feature-hashed (FNV-1a, with a hashed sign
   * bit) into a bucket, weighted by its information under the model, −ln P(token) (a smooth IDF:
   * rare tokens count more than `the`). Texts sharing rarer words have higher cosine similarity.
   * The empty (or word-less) text maps to the zero vector.
   */
  embed(text: string): number[] {
    const vector = new Float64Array(EMBEDDING_DIMENSIONS);
    const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    const tokens = words.length > 0 ? encode(' ' + words.join(' ')) : [];
    const unigram = this.unigramDistribution();
    const weights = tokens.map((token) => {
      const index = this.typeIndex.get(token);
      const p = index === undefined ? this.unseenProbability() : unigram[index];
      return -Math.log(p);
    });
    const add = (feature: string, weight: number): void => {
      const hash = fnv1a(`${this.seed}:${feature}`);
      vector[hash % EMBEDDING_DIMENSIONS] += hash & 0x80000000 ? -weight : weight;
    };
    tokens.forEach((token, i) => {
      add(`u${token}`, weights[i]);
      if (i > 0) add(`b${tokens[i - 1]},${token}`, (weights[i - 1] + weights[i]) / 4);
    });
    const norm = Math.hypot(...vector);
    return Array.from(vector, (value) => (norm > 0 ? value / norm : 0));
  }

  private startPadding(): number[] {
    return new Array<number>(this.order - 1).fill(END_OF_TEXT_TOKEN);
  }

  private context(k: number, key: string): ContextStats {
    let stats = this.tables[k].get(key);
    if (!stats) {
      stats = { total: 0, mass: 0, next: new Map() };
      this.tables[k].set(key, stats);
    }
    return stats;
  }

  private increment(stats: ContextStats, token: number, weight: number): void {
    const before = stats.next.get(token) ?? 0;
    const after = before + weight;
    stats.next.set(token, after);
    stats.total += weight;
    stats.mass += Math.min(after, this.discount) - Math.min(before, this.discount);
  }

  private addType(token: number): void {
    if (!this.typeIndex.has(token)) {
      this.typeIndex.set(token, this.types.length);
      this.types.push(token);
    }
  }

  /** P(w) at the unigram level for every seen type, indexed like `types`. */
  private unigramDistribution(): Float64Array {
    if (this.unigramCache) return this.unigramCache;
    const stats = this.tables[0].get('');
    const distribution = new Float64Array(this.types.length);
    if (stats && stats.total > 0) {
      const uniform = 1 / VOCABULARY_SIZE;
      for (const [token, count] of stats.next) {
        distribution[this.typeIndex.get(token)!] =
          (Math.max(count - this.discount, 0) + stats.mass * uniform) / stats.total;
      }
    }
    this.unigramCache = distribution;
    return distribution;
  }

  /** P(w) at the unigram level of a token never seen in training. */
  private unseenProbability(): number {
    const stats = this.tables[0].get('');
    if (!stats || stats.total === 0) return 1 / VOCABULARY_SIZE;
    return stats.mass / stats.total / VOCABULARY_SIZE;
  }

  /**
   * Samples the next token among the seen types (unseen tokens share a negligible mass and are
   * never sampled). Temperature T reweights p to p^(1/T); `topP` keeps the smallest set of most
   * likely tokens whose mass reaches it (Holtzman et al. 2020).
   */
  private sample(
    history: readonly number[],
    temperature: number,
    topP: number,
    random: SeededRandom,
  ): number {
    const p = Float64Array.from(this.unigramDistribution());
    for (let k = 1; k < this.order; k++) {
      const stats = this.tables[k].get(history.slice(history.length - k).join(','));
      if (!stats || stats.total === 0) break;
      const backoff = stats.mass / stats.total;
      for (let i = 0; i < p.length; i++) p[i] *= backoff;
      for (const [token, count] of stats.next) {
        p[this.typeIndex.get(token)!] += Math.max(count - this.discount, 0) / stats.total;
      }
    }
    if (temperature <= 0) {
      let best = 0;
      for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
      return this.types[best];
    }
    let candidates: number[];
    if (temperature !== 1) for (let i = 0; i < p.length; i++) p[i] = p[i] ** (1 / temperature);
    if (topP < 1) {
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]);
      const total = p.reduce((sum, value) => sum + value, 0);
      candidates = [];
      let mass = 0;
      for (const index of order) {
        candidates.push(index);
        mass += p[index];
        if (mass >= topP * total) break;
      }
    } else {
      candidates = Array.from(p.keys());
    }
    const total = candidates.reduce((sum, index) => sum + p[index], 0);
    let threshold = random.next() * total;
    for (const index of candidates) {
      threshold -= p[index];
      if (threshold < 0) return this.types[index];
    }
    return this.types[candidates[candidates.length - 1]];
  }
}

/** Index in `text` of the earliest stop sequence that ends after `from`, or −1. */
function firstStop(text: string, stops: readonly string[], from: number): number {
  let earliest = -1;
  for (const stop of stops) {
    const index = text.indexOf(stop, Math.max(0, from - stop.length + 1));
    if (index >= 0 && (earliest < 0 || index < earliest)) earliest = index;
  }
  return earliest;
}

/** Length of the longest suffix of `text` that is a proper prefix of a stop sequence. */
function heldForStop(text: string, stops: readonly string[]): number {
  let held = 0;
  for (const stop of stops) {
    for (let length = Math.min(stop.length - 1, text.length); length > held; length--) {
      if (text.endsWith(stop.slice(0, length))) {
        held = length;
        break;
      }
    }
  }
  return held;
}
