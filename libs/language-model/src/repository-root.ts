import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository (or image) root: the nearest ancestor of `from` holding a `package.json`. Both
 * `libs/language-model/src` (ts-node, ts-jest) and `dist/libs/language-model/src` (compiled) have
 * the repository root as that ancestor — `dist/` has no package.json — so files shipped beside
 * the sources, such as the corpus, are found from either without copying them into `dist/`.
 *
 * @throws Error when no ancestor has a package.json
 */
export function repositoryRoot(from: string = __dirname): string {
  for (let directory = from; ; directory = dirname(directory)) {
    if (existsSync(join(directory, 'package.json'))) return directory;
    if (dirname(directory) === directory) {
      throw new Error(`no package.json above ${from}`);
    }
  }
}
