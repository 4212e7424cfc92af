import { defineConfig } from 'vitest/config';

// Test files run one at a time: many load a real model, and llama.cpp threads oversubscribed
// on a small machine run hundreds of times slower.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.chaos.test.ts', 'node_modules/**'],
    globalSetup: ['test/support/global-redis.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
