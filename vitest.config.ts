import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          // test/unit mirrors src/; a test helper's own test sits beside it in test/helpers
          include: [
            'test/unit/**/*.test.ts',
            'test/contract/**/*.fake.test.ts',
            'test/helpers/**/*.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: [
            'test/integration/**/*.test.ts',
            'test/contract/**/*.redis.test.ts',
            'test/contract/**/*.real.test.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'scenarios',
          // one project after another: real servers on free ports in parallel processes could
          // race for the same port, and timing-sensitive fault tests need the 2 cores
          sequence: { groupOrder: 2 },
          include: ['test/scenarios/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // long fault scenarios (partitions, containers, chaos): `npm run test:faults`, which
          // .ci/run runs after `npm test`; kept out of `npm test` to hold it near 12 minutes
          name: 'faults',
          sequence: { groupOrder: 3 },
          include: ['test/faults/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // the docker-compose stack on a Docker engine of its own: `npm run test:containers`
          name: 'containers',
          sequence: { groupOrder: 4 },
          include: ['test/containers/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
