import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONTEXT_LENGTH, NgramLanguageModel } from './ngram-language-model';
import { repositoryRoot } from './repository-root';

/** What a seeded catalog model is and how its local stand-in is trained. */
export interface BaseModelSpec {
  /** The catalog id the control plane seeds. */
  id: string;
  family: string;
  /** `chat` models serve completions; `embedding` models serve embeddings only. */
  modality: 'chat' | 'embedding';
  /** Context window in tokens. */
  contextLength: number;
  /** n-gram order (see {@link NgramLanguageModel.train}). */
  order: number;
  /** Seeds the model's embedding hash, so each model has its own embedding space. */
  seed: number;
}

/**
 * The seeded catalog models. All share the shipped corpus; they differ in n-gram order (so in
 * what they generate and how well they fit) and seed.
 */
export const BASE_MODELS: Readonly<Record<string, BaseModelSpec>> = {
  'llama-3-8b-local': {
    id: 'llama-3-8b-local',
    family: 'llama',
    modality: 'chat',
    contextLength: DEFAULT_CONTEXT_LENGTH,
    order: 3,
    seed: 3,
  },
  'mistral-7b-local': {
    id: 'mistral-7b-local',
    family: 'mistral',
    modality: 'chat',
    contextLength: DEFAULT_CONTEXT_LENGTH,
    order: 4,
    seed: 7,
  },
  'e5-small-local': {
    id: 'e5-small-local',
    family: 'e5',
    modality: 'embedding',
    contextLength: 512,
    order: 2,
    seed: 5,
  },
};

/** Thrown by {@link baseModel} for an id that is not in {@link BASE_MODELS}. */
export class UnknownBaseModelError extends Error {
  readonly code = 'unknown_base_model';
  constructor(readonly catalogId: string) {
    super(`no base model ${catalogId}; known: ${Object.keys(BASE_MODELS).join(', ')}`);
    this.name = 'UnknownBaseModelError';
  }
}

/** The corpus file, relative to the repository root; see `libs/language-model/corpus/README.md`. */
export const CORPUS_PATH = 'libs/language-model/corpus/shakespeare-excerpt.txt';

let corpusCache: string[] | null = null;
const modelCache = new Map<string, NgramLanguageModel>();

/**
 * The shipped public-domain corpus as training documents: one per paragraph (a speech of the
 * play: `SPEAKER:\n…lines`). Read once per process.
 *
 * @throws the file system's error when the corpus file is missing (e.g. an image built without it)
 */
export function corpusDocuments(): string[] {
  corpusCache ??= readFileSync(join(repositoryRoot(), CORPUS_PATH), 'utf8')
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph.length > 0);
  return corpusCache;
}

/**
 * The trained base model of a seeded catalog model. Trained on first use (tens of milliseconds
 * to a few hundred, measured in the spec) and cached for the life of the process; callers that
 * adapt it (fine-tuning) get copies from {@link NgramLanguageModel.clone}, never this instance's
 * counts.
 *
 * @throws UnknownBaseModelError for an id not in {@link BASE_MODELS}
 */
export function baseModel(catalogId: string): NgramLanguageModel {
  const spec = BASE_MODELS[catalogId];
  if (!spec) throw new UnknownBaseModelError(catalogId);
  let model = modelCache.get(catalogId);
  if (!model) {
    model = NgramLanguageModel.train(corpusDocuments(), {
      order: spec.order,
      seed: spec.seed,
      contextLength: spec.contextLength,
    });
    modelCache.set(catalogId, model);
  }
  return model;
}
