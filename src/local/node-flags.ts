/**
 * V8 flags for the long-running processes (sentinel, agent): a 2 MB young generation instead of
 * the default 16 MB keeps a sentinel watching 300 nodes under 100 MB RSS (128 MB without) for
 * about one point more CPU (`npm run bench:scale`). bin/pgvigil.js passes the same to users.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
