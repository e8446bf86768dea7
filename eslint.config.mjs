// Lint rules: typescript-eslint's recommended set plus the few rules that keep the engine honest.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FUNCTIONS_TYPES = ['@azure/functions', 'durable-functions'];
/** Activity bodies (shared/steps/*), apart from the contract, the runtime and the endpoints. */
const STEP_BODIES = ['**/steps/*', '!**/steps/contracts', '!**/steps/names', '!**/steps/runtime', '!**/steps/endpoints'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.azurite/**', 'bench/results/**', 'test/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The engine must stay free of Functions types so it can be tested directly (DESIGN.md).
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: FUNCTIONS_TYPES }],
    },
  },
  {
    // The API and the parameter report answer users; they start orchestrations and read state, and
    // never run a migration step themselves.
    files: ['shared/api/**/*.ts', 'shared/params/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: FUNCTIONS_TYPES, patterns: [{ group: STEP_BODIES, message: 'Step bodies run as activities; the API reaches them only through an orchestration.' }] }],
    },
  },
  {
    // Orchestrators only sequence: they see the activity contract and Durable, nothing that runs.
    files: ['orchestrators/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../shared/*', '!../shared/steps', '../shared/steps/*', '!../shared/steps/contracts'], message: 'Orchestrators import the activity contract (shared/steps/contracts) only.' }] }],
    },
  },
);
