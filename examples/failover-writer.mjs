#!/usr/bin/env node
/**
 * Writes continuously through pgvigil's pool and prints each write's server and latency, so
 * that a failover (`pgvigil local kill pg1`) or a switchover shows as a short pause and a new
 * port, not as an outage.
 *
 *   npm run build && node dist/cli.js local up        # or a real cluster
 *   node examples/failover-writer.mjs [--dir .pgvigil-local] [--interval-ms 100]
 *
 * It reads the local cluster's state.json for the Redis URLs, the user and database, and the
 * secrets file for the passwords; point REDIS_URLS / PGUSER / PGDATABASE / PGPASSWORD /
 * REDIS_PASSWORD at a real cluster instead. From an installed package, import from
 * 'pgvigil/client'.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { createPool } from '../dist/client/index.js';
import { localSecrets, readState } from '../dist/local/state.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '.pgvigil-local' },
    'interval-ms': { type: 'string', default: '100' },
    cluster: { type: 'string', default: 'local' },
  },
});

function settings() {
  if (process.env.REDIS_URLS)
    return {
      cluster: values.cluster,
      redis: process.env.REDIS_URLS.split(','),
      redisAuth: { password: process.env.REDIS_PASSWORD },
      user: process.env.PGUSER,
      database: process.env.PGDATABASE,
      password: process.env.PGPASSWORD,
    };
  const state = readState(values.dir);
  const secrets = localSecrets(state);
  const app = state.client.app; // the application role of `local up`
  return {
    cluster: state.cluster,
    redis: state.redis,
    redisAuth: { password: secrets.redisPassword },
    user: app.user,
    database: app.database,
    password: readFileSync(app.passwordFile, 'utf8').trim(),
  };
}

const pool = await createPool({ ...settings(), max: 2, failoverTimeoutMs: 15_000 });
pool.on('topology', (t) => console.log(`topology epoch ${t.epoch}: primary ${t.primary}`));
await pool.query(
  'CREATE TABLE IF NOT EXISTS failover_writer (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())',
);

let stopping = false;
process.once('SIGINT', () => (stopping = true));
process.once('SIGTERM', () => (stopping = true));
const interval = Number(values['interval-ms']);
while (!stopping) {
  const t0 = performance.now();
  try {
    const { rows } = await pool.query(
      'INSERT INTO failover_writer DEFAULT VALUES RETURNING id, inet_server_addr() AS host, inet_server_port() AS port',
    );
    const { id, host, port } = rows[0];
    console.log(
      `${new Date().toISOString()} write ${id} on ${host}:${port} in ${(performance.now() - t0).toFixed(1)} ms`,
    );
  } catch (err) {
    // sent, but the connection broke before the answer: it may or may not have committed
    console.log(
      `${new Date().toISOString()} write with unknown outcome after ${(performance.now() - t0).toFixed(1)} ms: ${err.message}`,
    );
  }
  await new Promise((resolve) => setTimeout(resolve, interval));
}
await pool.end();
