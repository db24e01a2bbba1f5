/**
 * V8 flags for the long-running processes (sentinel, agent), measured by `npm run bench:idle`
 * and `npm run bench:scale` (README, Performance):
 * - `--max-semi-space-size=2`: a 2 MB young generation instead of 16 MB keeps a sentinel
 *   watching many nodes smaller (at 300 nodes: 100 MB RSS instead of 128 MB);
 * - `--v8-pool-size=1`: one V8 worker thread instead of one per core (4 here); each thread's
 *   malloc arena held pages of its own: 6-11 MB less RSS per idle process, no measurable CPU.
 * The same flags reach users through bin/pgvigil.js (its shebang), NODE_OPTIONS in the systemd
 * units and the Dockerfile; test/unit/deploy.test.ts keeps them in step.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--v8-pool-size=1'];
