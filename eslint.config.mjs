// ESLint flat config: typescript-eslint recommended, Prettier owns formatting.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const LIBS = [
  'core',
  'authz',
  'identity',
  'tenancy',
  'metering',
  'audit',
  'webhooks',
  'sso',
  'endpoints',
  'language-model',
  'fine-tuning',
  'saml-idp',
  'sla',
  'testing',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.local/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // A library is entered only through its index.ts (STYLE.md): no deep imports across libs.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: LIBS.map((lib) => `@app/${lib}/*`),
              message: 'Import another library through its index (@app/<lib>), not its folders.',
            },
            {
              group: ['**/libs/*/src/**'],
              message: 'Import libraries through their @app/<lib> alias.',
            },
          ],
        },
      ],
    },
  },
  {
    // Entry points that must load a single file before anything else (telemetry) and the Jest
    // bootstrap files (which run outside Jest's module mapper) may reach into core directly.
    files: [
      'apps/*/src/instrument.ts',
      'libs/testing/src/jest/*.ts',
      'libs/testing/src/test-database.ts',
    ],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The web console runs in the browser: DOM globals, React's rules of hooks.
    files: ['apps/console/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat['recommended-latest'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['scripts/**/*.mjs', 'scripts/**/*.cjs', '*.js', '*.mjs'],
    languageOptions: { globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
