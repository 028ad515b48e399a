import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from './repository-root';

/** How to start a model-server process (for `child_process.spawn(command, args, { cwd })`). */
export interface ModelServerCommand {
  command: string;
  args: string[];
  /** The repository root: `tsconfig-paths` reads `tsconfig.json` from the working directory. */
  cwd: string;
}

/**
 * The command that starts `apps/model-server` from the code that is running now: the compiled
 * `dist/apps/model-server/src/main.js` when this file is compiled JavaScript (the build puts it
 * beside this library's output), otherwise the TypeScript entry through ts-node in transpile-only
 * mode with `tsconfig-paths` (under ts-jest or ts-node, detected by this file's extension). Append
 * the server's own flags (`--model`, `--port`, …) to `args`.
 *
 * @throws Error when the compiled entry is missing (a partial build)
 */
export function modelServerCommand(): ModelServerCommand {
  const root = repositoryRoot(__dirname);
  if (__filename.endsWith('.ts')) {
    return {
      command: process.execPath,
      args: [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        join(root, 'apps/model-server/src/main.ts'),
      ],
      cwd: root,
    };
  }
  // __dirname is dist/libs/language-model/src; the app compiles to dist/apps/model-server/src.
  const entry = join(__dirname, '../../../apps/model-server/src/main.js');
  if (!existsSync(entry)) throw new Error(`model server entry ${entry} is missing: build first`);
  return { command: process.execPath, args: [entry], cwd: root };
}
