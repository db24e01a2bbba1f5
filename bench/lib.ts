/** Helpers shared by the bench scripts. */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import pg from 'pg';

import { RedisCoordinationStore } from '../src/adapters/redis/store.js';
import { PgvigilClient } from '../src/client/index.js';
import {
  type LocalNodeState,
  localSecrets,
  type LocalState,
  superuserConnection,
} from '../src/local/state.js';

/** Key prefix of the local cluster's coordination records. */
export const BENCH_PREFIX = 'pgvigil';

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Rows as an aligned text table, a rule under the first (header) row. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r, j) => {
    const line = '  ' + r.map((c, i) => c.padEnd(widths[i]!)).join('   ');
    return j === 0 ? `${line}\n  ${widths.map((w) => '-'.repeat(w)).join('   ')}` : line;
  });
}

/** Clock ticks per second of /proc/<pid>/stat times (sysconf(_SC_CLK_TCK) on Linux). */
export const CLOCK_TICKS = 100;

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** `fn` on a fresh superuser connection to `node` (password from the cluster's secrets file). */
export async function onNode<T>(
  state: LocalState,
  node: LocalNodeState,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const conn = superuserConnection(state, node, localSecrets(state));
  const c = new pg.Client({ ...conn, connectionTimeoutMillis: 2000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** One acknowledged write of the measuring writer: its id, the port that committed it, when. */
export interface Ack {
  id: number;
  port: number;
  atMono: number;
}

/** The measuring writer (see startWriter). */
export interface Writer {
  /** every acknowledged write, in order */
  readonly acked: Ack[];
  /** attempts that failed (not acknowledged; the next attempt used the next id) */
  notAcknowledged(): number;
  /** stop after the attempt under way */
  stop(): Promise<void>;
}

/**
 * The benches' measuring writer: one `INSERT INTO bench(id, at) ... RETURNING
 * inet_server_port()` at a time through `client`, `intervalMs` between attempts, a new increasing
 * id every attempt (a failed write is not acknowledged and its id is never retried). The port
 * attributes each ack to the server that committed it.
 */
export function startWriter(
  client: Pick<PgvigilClient, 'query'>,
  intervalMs: number,
  hooks: { onAck?: (ack: Ack) => void; onFail?: () => void } = {},
): Writer {
  const acked: Ack[] = [];
  let failed = 0;
  let writing = true;
  let nextId = 1;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const loop = (async () => {
    while (writing) {
      const id = nextId++;
      try {
        const r = await client.query<{ port: number }>(
          'INSERT INTO bench(id, at) VALUES ($1, now()) RETURNING inet_server_port() AS port',
          [id],
        );
        const ack = { id, port: Number(r.rows[0]?.port), atMono: performance.now() };
        acked.push(ack);
        hooks.onAck?.(ack);
      } catch {
        failed++;
        hooks.onFail?.();
      }
      await sleep(intervalMs);
    }
  })();
  return {
    acked,
    notAcknowledged: () => failed,
    stop: async () => {
      writing = false;
      await loop;
    },
  };
}

/** Which of `ids` are in `node`'s bench table (the lost-write lookup). */
export async function presentIds(
  state: LocalState,
  node: LocalNodeState,
  ids: readonly number[],
): Promise<Set<number>> {
  const found = await onNode(state, node, (db) =>
    db.query<{ id: string }>('SELECT id FROM bench WHERE id = ANY($1::bigint[])', [ids]),
  );
  return new Set(found.rows.map((r) => Number(r.id)));
}

/** Whether `standby` streams from `primary` (pg_stat_replication on the primary). */
export async function streamsFrom(
  state: LocalState,
  standby: LocalNodeState,
  primary: LocalNodeState,
): Promise<boolean> {
  return onNode(state, primary, (c) =>
    c.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'",
      [standby.name],
    ),
  )
    .then((r) => Number(r.rows[0]?.n) > 0)
    .catch(() => false);
}

/** POST to a sentinel's admin API (JSON body when given). */
export async function postApi(
  api: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export type SwitchoverOp = 'switchover' | 'failback';

export interface SwitchoverResult {
  op: SwitchoverOp;
  trial: number;
  from: string;
  to: string;
  ok: boolean;
  error?: string;
  outageMs: number | null;
  sentinelMs: number | null;
  retries409: number;
  lost: number;
  /** performance.now() right before the first POST (null when it never came to that) */
  startMono: number | null;
}

const SWITCHOVER_TIMEOUT_MS = 20_000;

/**
 * One `POST /switchover {"to"}` (pg1 -> pg2) or `POST /failback` (pg2 -> pg1) while `acked`
 * fills: started once the target streams from the current primary (+1 s), 409s "not rejoined
 * yet" retried; outage = first ack on the target minus the last ack on the old primary before
 * it; then every id acknowledged so far is looked up on the target (missing = lost).
 * `beforePost` runs once the target streams, right before the 1 s warm-up (a precondition of
 * the caller, e.g. a recorded synchronous standby).
 */
export async function runSwitchoverOp(
  state: LocalState,
  op: SwitchoverOp,
  trial: number,
  acked: readonly Ack[],
  beforePost?: () => Promise<void>,
): Promise<SwitchoverResult> {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const from = op === 'switchover' ? state.nodes[0]! : state.nodes[1]!;
  const to = op === 'switchover' ? state.nodes[1]! : state.nodes[0]!;
  const r: SwitchoverResult = {
    op,
    trial,
    from: from.name,
    to: to.name,
    ok: false,
    outageMs: null,
    sentinelMs: null,
    retries409: 0,
    lost: 0,
    startMono: null,
  };
  const ready = performance.now() + 60_000;
  while (!(await streamsFrom(state, to, from))) {
    if (performance.now() > ready) throw new Error(`${to.name} never streamed from ${from.name}`);
    await sleep(200);
  }
  await beforePost?.();
  await sleep(1000); // a few sentinel ticks see it streaming; warm writes on the old primary
  const startMono = performance.now();
  r.startMono = startMono;
  const path = op === 'switchover' ? '/switchover' : '/failback';
  const body = op === 'switchover' ? { to: to.name } : undefined;
  let res = await postApi(state.api, path, body);
  while (
    res.status === 409 &&
    performance.now() - startMono < SWITCHOVER_TIMEOUT_MS &&
    /not|rejoin|streaming/.test(String(res.body.message))
  ) {
    r.retries409++;
    await sleep(300);
    res = await postApi(state.api, path, body);
  }
  if (res.status !== 200) {
    r.error = `${res.status} ${String(res.body.message)}`;
    return r;
  }
  r.sentinelMs = Number(res.body.durationMs);
  const deadline = performance.now() + SWITCHOVER_TIMEOUT_MS;
  let first: Ack | undefined;
  while (
    !(first = acked.find((a) => a.port === to.port && a.atMono > startMono)) &&
    performance.now() < deadline
  )
    await sleep(10);
  if (!first) {
    r.error = `no acknowledged write on ${to.name} within ${SWITCHOVER_TIMEOUT_MS} ms`;
    return r;
  }
  const lastOld = acked.filter((a) => a.port === from.port && a.atMono < first.atMono).at(-1);
  r.outageMs = lastOld ? first.atMono - lastOld.atMono : null;
  await sleep(300);
  const ids = acked.map((a) => a.id);
  const present = await presentIds(state, to, ids);
  r.lost = ids.filter((id) => !present.has(id)).length;
  r.ok = true;
  return r;
}

/** Redis auth of a local cluster for the benches' store and client (TLS when it runs TLS). */
function redisAuth(state: LocalState): { password: string; tls?: { ca: string } } {
  return {
    password: localSecrets(state).redisPassword,
    ...(state.tls ? { tls: { ca: state.tls.ca } } : {}),
  };
}

/** A coordination store on the local cluster's Redis servers (events, topology reads). */
export async function benchStore(state: LocalState): Promise<RedisCoordinationStore> {
  const store = new RedisCoordinationStore({
    urls: state.redis,
    prefix: BENCH_PREFIX,
    commandTimeoutMs: 500,
    auth: redisAuth(state),
  });
  await store.ready(2000);
  return store;
}

/** The public client on the local cluster, as the superuser (over TLS when it runs TLS). */
export function benchClient(state: LocalState, poolSize: number): Promise<PgvigilClient> {
  return PgvigilClient.connect({
    redis: state.redis,
    redisAuth: redisAuth(state),
    prefix: BENCH_PREFIX,
    cluster: state.cluster,
    pg: {
      ...state.client,
      password: localSecrets(state).superPassword,
      tls: state.tls?.superuser,
    },
    poolSize,
  });
}

/**
 * Wait until the committed topology, settled (`ok`) under `primary`, records one synchronous
 * standby (replication.mode sync: before that, automatic failover is off); returns its name.
 */
export async function waitSyncRecorded(
  store: Pick<RedisCoordinationStore, 'readTopology'>,
  cluster: string,
  primary: string,
  timeoutMs = 15_000,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const t = (await store.readTopology(cluster).catch(() => ({ value: null }))).value;
    if (t?.primary === primary && t.state === 'ok' && t.syncStandbys.length === 1)
      return t.syncStandbys[0]!;
    if (performance.now() > deadline)
      throw new Error(`no synchronous standby recorded under ${primary} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
