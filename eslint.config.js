import tseslint from 'typescript-eslint';
import { layeringRule } from './tools/eslint/layering.js';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.parley/**', 'coverage/**', 'packages/db/migrations/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { parley: { rules: { layering: layeringRule } } },
    rules: {
      'parley/layering': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // The CLI talks to a terminal; everything else logs through pino.
    files: [
      'apps/server/src/cli/**',
      'apps/server/src/main.ts',
      'tools/**',
      '**/scripts/**',
      '**/*.test.ts',
      'apps/server/test/**',
    ],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests read JSON bodies loosely; the assertions are the type check.
    files: ['**/*.test.ts', '**/testing/**', 'apps/server/test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
