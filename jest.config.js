/**
 * Three jest projects, all run by `npm test` (`npx jest --selectProjects unit` runs one):
 * - unit: tests next to the code (src/**), each test within 30 s;
 * - integration: test/** (the server over HTTP and WebSocket, the database adapters, the engine
 *   thread), each test within 120 s;
 * - slow: *.slow.test.ts (256 px presets, whole-model gradients, the evaluation), each test within
 *   300 s. On a quiet 2-core machine the longest takes ~25 s, so the budget holds under load.
 * The test environment (test/jest-environment.js) explains why tests run in a plain vm context.
 */
const base = {
  testEnvironment: '<rootDir>/test/jest-environment.js',
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...base,
      displayName: 'unit',
      roots: ['<rootDir>/src'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['\\.slow\\.test\\.ts$'],
      testEnvironmentOptions: { egsdeTestTimeoutMs: 30000 },
    },
    {
      ...base,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['\\.slow\\.test\\.ts$'],
      testEnvironmentOptions: { egsdeTestTimeoutMs: 120000 },
    },
    {
      ...base,
      displayName: 'slow',
      roots: ['<rootDir>/src', '<rootDir>/test'],
      testMatch: ['**/*.slow.test.ts'],
      testEnvironmentOptions: { egsdeTestTimeoutMs: 300000 },
    },
  ],
};
