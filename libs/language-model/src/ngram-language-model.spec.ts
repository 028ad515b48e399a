import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveModel } from './artifact';
import { baseModel, BASE_MODELS, corpusDocuments, UnknownBaseModelError } from './base-models';
import {
  EMBEDDING_DIMENSIONS,
  InvalidArtifactError,
  NgramLanguageModel,
} from './ngram-language-model';
import { decode, encode } from './tokenizer';

const cosine = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + x * b[i], 0);

describe('NgramLanguageModel', () => {
  const model = baseModel('llama-3-8b-local');

  it('trains the base model from the shipped corpus in well under a second', () => {
    const started = performance.now();
    const fresh = NgramLanguageModel.train(corpusDocuments(), { order: 3 });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    expect(fresh.trainedTokens).toBeGreaterThan(5000);
    expect(fresh.vocabularySeen).toBeGreaterThan(1000);
  });

  it('caches base models and rejects unknown catalog ids', () => {
    expect(baseModel('llama-3-8b-local')).toBe(model);
    expect(baseModel('mistral-7b-local').order).toBe(BASE_MODELS['mistral-7b-local'].order);
    expect(() => baseModel('gpt-5')).toThrow(UnknownBaseModelError);
  });

  it('gives a normalised distribution over the whole vocabulary', () => {
    const history = encode('First Citizen:\n');
    const seen = new Set(corpusDocuments().flatMap((text) => encode(text)));
    const mass = [...seen, 100257].reduce(
      (sum, token) => sum + model.probability(history, token),
      0,
    );
    expect(mass).toBeLessThanOrEqual(1 + 1e-9);
    expect(mass).toBeGreaterThan(0.95); // the rest is the unseen tokens' share
    expect(model.probability(history, 99999)).toBeGreaterThan(0);
  });

  it('generates the same completion for the same seed and a different one for another', () => {
    const options = { maxTokens: 40, temperature: 1, seed: 42 };
    const first = model.complete('MENENIUS:\n', options);
    expect(model.complete('MENENIUS:\n', options)).toEqual(first);
    const others = [1, 2, 3].map(
      (seed) => model.complete('MENENIUS:\n', { ...options, seed }).text,
    );
    expect(others.some((text) => text !== first.text)).toBe(true);
  });

  it('is greedy and deterministic at temperature 0 without a seed', () => {
    const options = { maxTokens: 20, temperature: 0 };
    expect(model.complete('The gods', options)).toEqual(model.complete('The gods', options));
  });

  it('stops at maxTokens with finish reason length, counting tokens exactly', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = model.complete('First Citizen:\n', { maxTokens: 5, seed });
      expect(result.completionTokens).toBeLessThanOrEqual(5);
      if (result.finishReason === 'length') expect(result.completionTokens).toBe(5);
    }
    const none = model.complete('First Citizen:\n', { maxTokens: 0 });
    expect(none).toEqual({ text: '', finishReason: 'length', completionTokens: 0 });
  });

  it('ends with finish reason stop before a stop sequence, which is never emitted', () => {
    const free = model.complete('MARCIUS:\n', { maxTokens: 60, temperature: 0 });
    const word = free.text.split(/\s+/).filter((w) => w.length > 2)[1];
    expect(word).toBeDefined();
    const generator = model.generate('MARCIUS:\n', { maxTokens: 60, temperature: 0, stop: [word] });
    const pieces: string[] = [];
    let step = generator.next();
    while (!step.done) {
      pieces.push(step.value);
      step = generator.next();
    }
    expect(step.value.finishReason).toBe('stop');
    expect(step.value.text).toBe(free.text.slice(0, free.text.indexOf(word)));
    expect(pieces.join('')).toBe(step.value.text);
    expect(pieces.join('')).not.toContain(word);
  });

  it('streams pieces whose concatenation is the completion', () => {
    const generator = model.generate('COMINIUS:\n', { maxTokens: 30, seed: 9 });
    const pieces: string[] = [];
    let step = generator.next();
    while (!step.done) {
      pieces.push(step.value);
      step = generator.next();
    }
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(step.value.text);
    expect(encode(step.value.text).length).toBeGreaterThan(0);
    expect(decode(encode(step.value.text))).toBe(step.value.text);
  });

  it('has a lower loss on in-domain text than on random text', () => {
    const inDomain = model.logLoss(
      'First Citizen:\nWe are accounted poor citizens, the patricians good.',
    );
    const unseenButEnglish = model.logLoss('The quarterly revenue forecast exceeded expectations.');
    const random = model.logLoss('zq xjv 8f2k wpq vbbz qqlm 0x77ff kkr ptt');
    expect(inDomain).toBeLessThan(unseenButEnglish);
    expect(unseenButEnglish).toBeLessThan(random);
  });

  it('embeds deterministically into unit vectors where similar texts are closer', () => {
    const a = model.embed('The senators of Rome are this good belly');
    const b = model.embed('the belly and the senators of Rome');
    const c = model.embed('Kubernetes pods restart after an out-of-memory kill');
    expect(a).toHaveLength(EMBEDDING_DIMENSIONS);
    expect(model.embed('The senators of Rome are this good belly')).toEqual(a);
    expect(Math.hypot(...a)).toBeCloseTo(1, 10);
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c));
    expect(cosine(a, b)).toBeGreaterThan(0.5);
    expect(model.embed('')).toEqual(new Array(EMBEDDING_DIMENSIONS).fill(0));
  });

  it('gives each base model its own embedding space', () => {
    const text = 'noble Marcius';
    expect(baseModel('e5-small-local').embed(text)).not.toEqual(model.embed(text));
  });

  describe('artifacts', () => {
    let directory: string;
    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'lm-artifact-'));
    });
    afterAll(() => rm(directory, { recursive: true, force: true }));

    it('round-trips through save and load with identical behaviour', async () => {
      const path = join(directory, 'model.json');
      await saveModel(model, path, { base: 'llama-3-8b-local' });
      const { model: loaded, metadata } = await loadModel(path);
      expect(metadata).toEqual({ base: 'llama-3-8b-local' });
      expect(loaded.order).toBe(model.order);
      const text = 'MENENIUS:\nWhat work is this, my countrymen?';
      expect(loaded.logLoss(text)).toBeCloseTo(model.logLoss(text), 12);
      const options = { maxTokens: 30, seed: 5 };
      expect(loaded.complete('VOLUMNIA:\n', options)).toEqual(
        model.complete('VOLUMNIA:\n', options),
      );
      expect(loaded.embed(text)).toEqual(model.embed(text));
    });

    it('rejects a file that is not a model artifact', async () => {
      const path = join(directory, 'bogus.json');
      await writeFile(path, JSON.stringify({ format: 'something-else' }));
      await expect(loadModel(path)).rejects.toThrow(InvalidArtifactError);
      await writeFile(path, 'not json');
      await expect(loadModel(path)).rejects.toThrow(InvalidArtifactError);
    });
  });

  it('rejects out-of-range training options', () => {
    expect(() => NgramLanguageModel.train(['a'], { order: 0 })).toThrow(RangeError);
    expect(() => NgramLanguageModel.train(['a'], { discount: 1 })).toThrow(RangeError);
  });
});
