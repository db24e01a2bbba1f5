/**
 * The embedded local cluster for scenario tests: the same `localUp` as `pgvigil local up`, in a
 * fresh temp dir, quiet. `down()` stops everything by PID (call it in afterAll: it also runs on
 * process exit if the test run dies first) and removes the dir.
 *
 * `netns: true` (root): every member in a network namespace of its own (src/local/netns.ts);
 * the namespaces are removed by `down()`, and on exit or SIGINT/SIGTERM of the test process.
 *
 * state.json holds no password: `h.node(name)` adds the superuser's connection (password from
 * the secrets file, `localSecrets`) that `sql()` connects with, and the store uses the Redis
 * password from the same file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { RedisCoordinationStore } from '../../src/adapters/redis/store.js';
import type { StampedEvent } from '../../src/core/events.js';
import type { Topology } from '../../src/core/model.js';
import { localDown, localUp, type LocalUpOptions } from '../../src/local/cluster.js';
import { readNetns, removeNetns } from '../../src/local/netns.js';
import {
  type LocalNodeState,
  type LocalSecrets,
  localSecrets,
  type LocalState,
  superuserConnection,
} from '../../src/local/state.js';
import { eventually } from './pg.js';

export { eventually };

/** A node as tests reach it: its state.json entry plus the superuser's connection. */
export interface TestNode extends LocalNodeState {
  /** pg.Client options, password included: never print them */
  conn: ReturnType<typeof superuserConnection>;
}

export interface LocalHandle {
  state: LocalState;
  /** the generated passwords (from secrets.env) */
  secrets: LocalSecrets;
  store: RedisCoordinationStore;
  events: StampedEvent[];
  node(name: string): TestNode;
  topology(): Promise<Topology | null>;
  down(): Promise<void>;
}

const live = new Set<string>();
/** dirs of `netns: true` clusters: their namespaces go on exit too, whatever happened */
const withNetns = new Set<string>();
const removeAllNetns = (): void => {
  for (const dir of withNetns) {
    const net = readNetns(dir);
    if (net) removeNetns(dir, net);
  }
};
process.once('exit', removeAllNetns);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    removeAllNetns();
    process.exit(130);
  });
process.once('exit', () => {
  // last resort: SIGKILL whatever a crashed run left (pids from state.json are in memory here)
  for (const pids of live)
    for (const pid of pids.split(','))
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
});

export async function startLocal(
  opts: Omit<LocalUpOptions, 'dir' | 'progress'> = {},
): Promise<LocalHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-scn-'));
  if (opts.netns) withNetns.add(dir); // before localUp: it may crash half way
  const state = await localUp({ apiPort: 0, ...opts, dir, progress: () => undefined });
  const pids = [
    ...(state.agents ?? []).map((a) => a.pid), // agents first: they would restart postgres
    ...state.sentinels.map((s) => s.pid),
    ...state.redisServers.map((r) => r.pid),
    ...state.nodes.map((n) => n.pid),
  ].join(',');
  live.add(pids);
  const secrets = localSecrets(state);
  const store = new RedisCoordinationStore({
    urls: state.redis,
    prefix: 'pgvigil',
    commandTimeoutMs: 1000,
    auth: redisAuthOf(state, secrets),
  });
  await store.ready(2000);
  const events: StampedEvent[] = [];
  const unsubscribe = await store.subscribe(state.cluster, (e) => events.push(e));
  return {
    state,
    secrets,
    store,
    events,
    node: (name) => {
      const n = state.nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no node ${name}`);
      return { ...n, conn: superuserConnection(state, n, secrets) };
    },
    topology: async () => (await store.readTopology(state.cluster)).value,
    down: async () => {
      await unsubscribe().catch(() => undefined);
      await store.close();
      await localDown({ dir, quiet: true });
      live.delete(pids);
      withNetns.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Redis AUTH (and, with `tls`, the CA of the rediss:// servers) of a local cluster. */
export function redisAuthOf(
  state: LocalState,
  secrets: LocalSecrets,
): { password: string; tls?: { ca: string } } {
  return { password: secrets.redisPassword, ...(state.tls ? { tls: { ca: state.tls.ca } } : {}) };
}

/** One statement on a fresh connection to a node (as the superuser). */
export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(
  node: Pick<TestNode, 'conn'>,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({
    ...node.conn,
    connectionTimeoutMillis: 2000,
    query_timeout: 5000,
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function inRecovery(node: Pick<TestNode, 'conn'>): Promise<boolean> {
  const [row] = await sql<{ r: boolean }>(node, 'SELECT pg_is_in_recovery() AS r');
  return row!.r;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CREATE TABLE t and rows 1..n on the primary, then wait until every replica has replayed them. */
export async function seedRows(primary: TestNode, replicas: TestNode[], n = 100): Promise<void> {
  await sql(primary, 'CREATE TABLE t (id int PRIMARY KEY)');
  await sql(primary, `INSERT INTO t SELECT generate_series(1, ${n})`);
  for (const r of replicas) {
    await eventually(async () =>
      (await sql(r, `SELECT 1 FROM t WHERE id = ${n}`)).length === 1 ? true : undefined,
    );
  }
}

/** Wait until the committed topology names `primary` and is settled (`ok`). */
export async function waitForPrimary(
  h: LocalHandle,
  primary: string,
  timeoutMs = 20_000,
): Promise<Topology> {
  return eventually(async () => {
    const t = await h.topology();
    return t?.primary === primary && t.state === 'ok' ? t : undefined;
  }, timeoutMs);
}
