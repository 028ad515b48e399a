// `node -r ./scripts/transpile-register.cjs -r tsconfig-paths/register app.ts`: compiles each
// TypeScript file on require, file by file, as ts-node's transpile-only mode does (same compiler
// options, from tsconfig.json), but without ts-node itself. ts-node always loads its REPL, and
// Node's `repl` loads `domain`, which then wraps every callback of the process: a cost the
// compiled apps (`node dist/...`, as deployed) never pay. Benchmarks start the processes they
// measure with this so that they measure the production code path.
const { readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const ts = require('typescript');

const root = dirname(__dirname);
const configPath = join(root, 'tsconfig.json');
const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configPath);
const compilerOptions = { ...options, sourceMap: false, declaration: false };

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
    compilerOptions,
    fileName: filename,
  });
  module._compile(outputText, filename);
};
