/** Unit specs sit next to the code (`*.spec.ts`); e2e specs in `test/` (`*.e2e-spec.ts`). */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: '.*\\.(e2e-)?spec\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.local/'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  testEnvironment: 'node',
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  setupFiles: ['<rootDir>/libs/testing/src/jest/worker-env.ts'],
  maxWorkers: process.env.JEST_MAX_WORKERS || 2,
  testTimeout: 30000,
};
