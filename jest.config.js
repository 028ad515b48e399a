/** Unit specs sit next to the code (`*.spec.ts`); e2e specs in `test/` (`*.e2e-spec.ts`). */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

/**
 * Packages that ship only ES modules: @kubernetes/client-node 1.x and what it imports for OIDC.
 * Node 20 loads them from our CommonJS build through require(esm), but Jest's own loader needs
 * Node 24.9+ for that, so under Jest they are transpiled to CommonJS instead.
 */
const ESM_ONLY = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];

/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: '.*\\.(e2e-)?spec\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.local/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // The ESM-only packages of ESM_ONLY, compiled to CommonJS for Jest's module loader.
    '^.+\\.js$': ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  testEnvironment: 'node',
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  setupFiles: ['<rootDir>/libs/testing/src/jest/worker-env.ts'],
  maxWorkers: process.env.JEST_MAX_WORKERS || 2,
  testTimeout: 30000,
};
