/* The Dockerfile, checked statically: there is no Docker engine where the tests run, so the
 * image is never built here. These checks read the file and the build configuration it relies on. */
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { read, ROOT } from './deployment-files';

interface Stage {
  from: string;
  name?: string;
  lines: string[];
}

/** Splits the Dockerfile into stages, joining continuation lines and dropping comments. */
function stages(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const result: Stage[] = [];
  for (const line of logical) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) result.push({ from: from[1], name: from[2], lines: [] });
    else result.at(-1)?.lines.push(line);
  }
  return result;
}

const dockerfile = read('Dockerfile');
const all = stages(dockerfile);
const runtime = all.at(-1)!;
const instructions = (stage: Stage, keyword: string) =>
  stage.lines.filter((line) => line.toUpperCase().startsWith(`${keyword} `));

describe('Dockerfile (static checks; no Docker engine here, the image is not built)', () => {
  it('is multi-stage: a build stage with dev dependencies, a runtime on node:20-bookworm-slim', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const build = all.find((stage) => stage.lines.some((line) => /npm run build/.test(line)));
    expect(build).toBeDefined();
    expect(build).not.toBe(runtime);
    // The build stage installs everything (dev dependencies compile the code).
    expect(build!.lines.some((line) => /npm ci(?!.*--omit=dev)/.test(line))).toBe(true);
    expect(runtime.from).toBe('node:20-bookworm-slim');
  });

  it('runs as a non-root user (uid 10001) in the runtime stage', () => {
    const users = instructions(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const last = users.at(-1)!.split(/\s+/)[1];
    expect(last).not.toMatch(/^(root|0)(:|$)/);
    expect(last).toMatch(/^10001(:10001)?$/);
  });

  it('ships production dependencies only', () => {
    const copies = instructions(runtime, 'COPY');
    const nodeModules = copies.filter((line) => /node_modules/.test(line));
    expect(nodeModules).toHaveLength(1);
    const source = /--from=(\S+)/.exec(nodeModules[0])?.[1];
    const depsStage = all.find((stage) => stage.name === source);
    expect(depsStage).toBeDefined();
    expect(depsStage!.lines.some((line) => /npm ci\b.*--omit=dev/.test(line))).toBe(true);
    expect(depsStage!.lines.some((line) => /npm run build/.test(line))).toBe(false);
    // Nothing is installed in the runtime stage itself.
    expect(runtime.lines.some((line) => /\bnpm (ci|install)\b/.test(line))).toBe(false);
  });

  it('sets NODE_ENV=production and starts node in exec form (the command picks the app)', () => {
    expect(instructions(runtime, 'ENV').join(' ')).toMatch(/NODE_ENV=production/);
    expect(instructions(runtime, 'ENTRYPOINT')).toEqual(['ENTRYPOINT ["node"]']);
    expect(instructions(runtime, 'CMD')).toEqual(['CMD ["dist/apps/api/src/main.js"]']);
  });

  it('copies no secrets into any stage, and .dockerignore keeps them out of the context', () => {
    for (const stage of all)
      for (const line of [...instructions(stage, 'COPY'), ...instructions(stage, 'ADD')]) {
        expect(line).not.toMatch(/\.env\b|\.pem\b|\.key\b|\.local\b|secret|\.npmrc/i);
        expect(line).not.toMatch(/^COPY\s+\.\s/i); // never the whole context
      }
    for (const stage of all)
      for (const line of [...instructions(stage, 'ARG'), ...instructions(stage, 'ENV')])
        expect(line).not.toMatch(/SECRET|TOKEN|PASSWORD|DATABASE_URL|REDIS_URL/i);
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['.git', '.local', '.env', 'node_modules', 'dist', '**/*.pem', '**/*.key'])
      expect(ignored).toContain(entry);
  });

  it('puts compiled migrations where the apps and the migration CLI load them from', () => {
    const build = JSON.parse(read('tsconfig.build.json'));
    expect(build.compilerOptions.outDir).toBe('./dist');
    expect(build.include).toContain('migrations/**/*.ts');
    // data-source-options.ts: MIGRATIONS_GLOB = join(__dirname, '..', '..', '..', '..', 'migrations', ...)
    expect(read('libs/core/src/database/data-source-options.ts')).toContain(
      "join(__dirname, '..', '..', '..', '..', 'migrations', '*.{ts,js}')",
    );
    expect(posix.join('dist/libs/core/src/database', '..', '..', '..', '..', 'migrations')).toBe(
      'dist/migrations',
    );
    expect(instructions(runtime, 'COPY')).toContain('COPY --from=build /src/dist ./dist');
    // Every file the build stage copies exists.
    for (const line of instructions(all[0], 'COPY')) {
      const parts = line.split(/\s+/).slice(1, -1);
      for (const part of parts) expect(existsSync(join(ROOT, part))).toBe(true);
    }
  });

  it('has a source entry point for every command the image is run with', () => {
    for (const entry of [
      'apps/api/src/main.ts',
      'apps/worker/src/main.ts',
      'apps/gateway/src/main.ts',
      'apps/model-server/src/main.ts',
      'libs/core/src/database/migrate.cli.ts',
    ])
      expect(existsSync(join(ROOT, entry))).toBe(true);
  });
});
