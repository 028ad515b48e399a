import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  InvalidArtifactError,
  NgramLanguageModel,
  type ModelArtifact,
} from './ngram-language-model';

/**
 * Writes a model artifact as JSON (`{"format":"acp-ngram-lm","version":1,…}`, see
 * {@link ModelArtifact}). Written to a temporary file and renamed, so a reader never sees half a
 * file. A base model trained on the shipped corpus is ≈ 1–3 MB.
 *
 * @param metadata stored with the model (e.g. `{ base: 'llama-3-8b-local', job: 'ftjob-…' }`)
 */
export async function saveModel(
  model: NgramLanguageModel,
  path: string,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(model.toArtifact(metadata)));
  await rename(temporary, path);
}

/**
 * Reads a model written by {@link saveModel}.
 *
 * @returns the model and the metadata stored with it
 * @throws InvalidArtifactError when the file is not JSON or not a version-1 artifact of this
 * tokenizer; the file system's error (ENOENT, …) when it cannot be read
 */
export async function loadModel(
  path: string,
): Promise<{ model: NgramLanguageModel; metadata: Record<string, unknown> }> {
  const text = await readFile(path, 'utf8');
  let artifact: ModelArtifact;
  try {
    artifact = JSON.parse(text) as ModelArtifact;
  } catch {
    throw new InvalidArtifactError(`${path} is not JSON`);
  }
  return { model: NgramLanguageModel.fromArtifact(artifact), metadata: artifact.metadata ?? {} };
}
