/*
 * Three projects, one per test tier, chosen by file name: *.unit.test.ts (no database),
 * *.int.test.ts and *.e2e.test.ts (real PostgreSQL; e2e through the real HTTP server).
 * `npm test` runs them all; `npm run test:unit|test:int|test:e2e` one tier.
 *
 * The database projects share one globalSetup/globalTeardown module: jest runs a module path once
 * however many selected projects name it, and not at all when only unit tests run.
 */

/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
    // jose ships ESM only, which jest cannot require on Node 20: transpile just it to CommonJS.
    '/node_modules/jose/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', moduleResolution: 'node' }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFiles: ['reflect-metadata'],
};

/** Starts an embedded PostgreSQL when DATABASE_URL is not set; each test file makes its own database. */
const database = {
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['**/*.unit.test.ts'] },
    { ...shared, ...database, displayName: 'int', testMatch: ['**/*.int.test.ts'] },
    { ...shared, ...database, displayName: 'e2e', testMatch: ['**/*.e2e.test.ts'] },
  ],
  testTimeout: 60000,
  maxWorkers: 2,
};
