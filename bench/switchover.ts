/**
 * `npm run bench:switchover`: write outage and lost acknowledged writes of a graceful
 * switchover and of a failback (DESIGN.md target: outage <= 3 s, 0 writes lost).
 *
 * Method: one `localUp` cluster (2 nodes with their agents, 3 sentinels, 1 Redis, default
 * timings) in a temp dir. A PgvigilClient writer commits `INSERT INTO bench(id) ... RETURNING
 * inet_server_port()` every `--interval-ms` for the whole run (ids increasing; a failed write is
 * not acknowledged and the next attempt uses the next id). Each trial is a pair: `POST
 * /switchover {"to":"pg2"}` then `POST /failback` (back to pg1), each started only once the
 * target streams from the current primary (a 409 "not rejoined yet" is retried and counted).
 * Outage of one operation = first acknowledged write on the new primary minus the last
 * acknowledged write on the old primary. After each operation every id acknowledged so far is
 * looked up on the new primary: a missing one is a lost acknowledged write.
 * Percentiles are nearest-rank; a failed operation counts as +infinity.
 *
 * Exit 0 whatever the figures (it is a measurement); 1 only when the harness itself failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { PgvigilClient } from '../src/client/index.js';
import { localDown, localUp } from '../src/local/cluster.js';
import { type LocalNodeState, localSecrets, type LocalState } from '../src/local/state.js';
import { nearestRank, onNode } from './lib.js';

type Op = 'switchover' | 'failback';
interface Ack {
  id: number;
  port: number;
  atMono: number;
}
interface Result {
  op: Op;
  trial: number;
  from: string;
  to: string;
  ok: boolean;
  error?: string;
  outageMs: number | null;
  sentinelMs: number | null;
  retries409: number;
  lost: number;
}

const OP_TIMEOUT_MS = 20_000;
const METHOD = [
  'method: one local cluster; a PgvigilClient writer INSERTs every interval for the whole run (a failed',
  '  write is not acknowledged, the next attempt uses the next id); each trial = POST /switchover {"to":"pg2"}',
  '  then POST /failback, each started once the target streams from the current primary (409s retried);',
  '  outage = first ack on the new primary - last ack on the old one; after each operation every id',
  '  acknowledged so far is looked up on the new primary (missing = lost); percentiles nearest-rank.',
];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function streamsFrom(
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

async function post(api: string, path: string, body?: unknown) {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const ms = (v: number | null): string =>
  v === null || Number.isNaN(v) ? 'n/a' : Number.isFinite(v) ? `${Math.round(v)} ms` : 'FAILED';

async function runOp(state: LocalState, op: Op, trial: number, acked: Ack[]): Promise<Result> {
  const from = op === 'switchover' ? state.nodes[0]! : state.nodes[1]!;
  const to = op === 'switchover' ? state.nodes[1]! : state.nodes[0]!;
  const r: Result = {
    op,
    trial,
    from: from.name,
    to: to.name,
    ok: false,
    outageMs: null,
    sentinelMs: null,
    retries409: 0,
    lost: 0,
  };
  const ready = performance.now() + 60_000;
  while (!(await streamsFrom(state, to, from))) {
    if (performance.now() > ready) throw new Error(`${to.name} never streamed from ${from.name}`);
    await sleep(200);
  }
  await sleep(1000); // a few sentinel ticks see it streaming; warm writes on the old primary
  const startMono = performance.now();
  let res = await post(
    state.api,
    op === 'switchover' ? '/switchover' : '/failback',
    op === 'switchover' ? { to: to.name } : undefined,
  );
  while (
    res.status === 409 &&
    performance.now() - startMono < OP_TIMEOUT_MS &&
    /not|rejoin|streaming/.test(String(res.body.message))
  ) {
    r.retries409++;
    await sleep(300);
    res = await post(
      state.api,
      op === 'switchover' ? '/switchover' : '/failback',
      op === 'switchover' ? { to: to.name } : undefined,
    );
  }
  if (res.status !== 200) {
    r.error = `${res.status} ${String(res.body.message)}`;
    return r;
  }
  r.sentinelMs = Number(res.body.durationMs);
  const deadline = performance.now() + OP_TIMEOUT_MS;
  let first: Ack | undefined;
  while (
    !(first = acked.find((a) => a.port === to.port && a.atMono > startMono)) &&
    performance.now() < deadline
  )
    await sleep(10);
  if (!first) {
    r.error = `no acknowledged write on ${to.name} within ${OP_TIMEOUT_MS} ms`;
    return r;
  }
  const lastOld = acked.filter((a) => a.port === from.port && a.atMono < first.atMono).at(-1);
  r.outageMs = lastOld ? first.atMono - lastOld.atMono : null;
  await sleep(300);
  const ids = acked.map((a) => a.id);
  const found = await onNode(state, to, (c) =>
    c.query<{ id: string }>('SELECT id FROM bench WHERE id = ANY($1::bigint[])', [ids]),
  );
  const present = new Set(found.rows.map((x) => Number(x.id)));
  r.lost = ids.filter((id) => !present.has(id)).length;
  r.ok = true;
  return r;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '10' },
      'interval-ms': { type: 'string', default: '10' },
    },
    strict: true,
  });
  const trials = Number(values.trials);
  const intervalMs = Number(values['interval-ms']);
  if (!Number.isInteger(trials) || trials < 1)
    throw new Error(`--trials ${values.trials}: expected an integer >= 1`);
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new Error(`--interval-ms ${values['interval-ms']}: expected an integer >= 1`);
  const out = (line: string): void => void process.stdout.write(line + '\n');
  out(
    `pgvigil switchover bench: ${trials} switchover(s) pg1 -> pg2 and ${trials} failback(s) pg2 -> pg1, 2 nodes with agents, 3 sentinels, 1 Redis, default timings, write every ${intervalMs} ms`,
  );
  for (const line of METHOD) out(line);
  out(
    `machine: ${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-so-'));
  let state: LocalState | undefined;
  let client: PgvigilClient | undefined;
  let writing = false;
  let writer: Promise<void> = Promise.resolve();
  const results: Result[] = [];
  let harnessError: string | undefined;
  let notAcked = 0;
  try {
    state = await localUp({ dir, nodes: 2, sentinels: 3, apiPort: 0, progress: () => undefined });
    const secrets = localSecrets(state);
    client = await PgvigilClient.connect({
      redis: state.redis,
      redisAuth: { password: secrets.redisPassword },
      cluster: state.cluster,
      pg: { ...state.client, password: secrets.superPassword },
      poolSize: 2,
    });
    await client.query(
      'CREATE TABLE bench (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())',
    );
    const acked: Ack[] = [];
    let nextId = 1;
    writing = true;
    const c = client;
    writer = (async () => {
      while (writing) {
        const id = nextId++;
        try {
          const q = await c.query<{ port: number }>(
            'INSERT INTO bench(id) VALUES ($1) RETURNING inet_server_port() AS port',
            [id],
          );
          acked.push({ id, port: Number(q.rows[0]?.port), atMono: performance.now() });
        } catch {
          notAcked++;
        }
        await sleep(intervalMs);
      }
    })();
    for (let i = 1; i <= trials; i++) {
      for (const op of ['switchover', 'failback'] as const) {
        const r = await runOp(state, op, i, acked);
        results.push(r);
        out(
          `  [${op} #${i}] ${r.ok ? 'ok    ' : 'FAILED'} ${r.from} -> ${r.to}  outage ${ms(r.outageMs).padStart(8)}  sentinel-reported ${ms(r.sentinelMs).padStart(8)}  lost acked ${r.lost}  409 retries ${r.retries409}${r.error ? `  (${r.error})` : ''}`,
        );
        if (!r.ok) throw new Error(`${op} #${i} failed: ${r.error}`);
      }
    }
    out(
      `  writes: ${acked.length} acknowledged, ${notAcked} not acknowledged (errors during the outages)`,
    );
  } catch (err) {
    harnessError = (err as Error).message.split('\n')[0];
  } finally {
    writing = false;
    await writer.catch(() => undefined);
    await client?.close().catch(() => undefined);
    if (state) await localDown({ dir, quiet: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  out('');
  for (const op of ['switchover', 'failback'] as const) {
    const rs = results.filter((r) => r.op === op);
    const outages = rs
      .map((r) => (r.ok && r.outageMs !== null ? r.outageMs : Infinity))
      .sort((a, b) => a - b);
    const lost = rs.reduce((s, r) => s + r.lost, 0);
    const max = outages.at(-1) ?? Number.NaN;
    out(`${op}: ${rs.length} operations, ${rs.filter((r) => !r.ok).length} failed`);
    out(
      `  write outage (last ack on old primary -> first ack on new): p50 ${ms(nearestRank(outages, 50))}   p95 ${ms(nearestRank(outages, 95))}   max ${ms(max)}`,
    );
    out(`  lost acknowledged writes: ${lost}`);
    out(
      `  target (outage <= 3 s, 0 lost): ${max <= 3000 && lost === 0 && rs.length > 0 ? 'PASS' : 'MISS'}`,
    );
  }
  if (harnessError) out(`HARNESS ERROR: ${harnessError}`);
  return harnessError ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:switchover: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
