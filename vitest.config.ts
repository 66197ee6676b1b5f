import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources (the `@parley/source` export condition),
// so they need no build step.
const conditions = ['@parley/source', 'module', 'node', 'development|production'];
const resolve = { conditions };
const ssr = { resolve: { conditions, externalConditions: ['@parley/source'] } };
const dbFiles = [
  'packages/*/src/**/*.db.test.ts',
  'apps/*/src/**/*.db.test.ts',
  'apps/*/test/**/*.db.test.ts',
];

export default defineConfig({
  resolve,
  ssr,
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tools/**/*.test.ts'],
          exclude: [...dbFiles, '**/node_modules/**'],
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'db-pglite',
          include: dbFiles,
          env: { PARLEY_TEST_DB: 'pglite' },
          testTimeout: 30_000,
          // Set-up (a database, an app, sign-ups) took over 30 s on a loaded 2-core machine (a full CI run).
          hookTimeout: 60_000,
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'db-postgres',
          include: dbFiles,
          env: { PARLEY_TEST_DB: 'postgres' },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'e2e',
          include: ['apps/*/test/**/*.e2e.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
