/**
 * `bench:failover --load`: the load (pgbench.ts) around a trial, the switchover under load,
 * and the report of both. The crash trials themselves are failover.ts's runTrial, with the load
 * started before the crash; see failover.ts's header for the method.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import type { RedisCoordinationStore } from '../src/adapters/redis/store.js';
import type { PgvigilClient } from '../src/client/index.js';
import { localDown, localUp } from '../src/local/cluster.js';
import type { LocalState } from '../src/local/state.js';
import {
  benchClient,
  benchStore,
  nearestRank,
  runSwitchoverOp,
  startWriter,
  type SwitchoverResult,
  table,
  waitSyncRecorded,
  type Writer,
} from './lib.js';
import { type Load, LOAD_TABLE_SQL, meanTps, startLoad } from './pgbench.js';

export type Profile = 'default' | 'fast';
export type Mode = 'async' | 'sync';

/** pgbench's shape: `-c clients -j jobs`. */
export interface LoadArgs {
  clients: number;
  jobs: number;
}

/** What a trial reports of its load. */
export interface TrialLoad {
  /** mean tps of pgbench's 1 s progress reports before the crash / the POST */
  tpsBefore: number | null;
  /** mean tps of the reports of the runs started after it (on the new primary), if any came */
  tpsAfter: number | null;
  /** pgbench runs started (1 + restarts, failed connection attempts included) */
  runs: number;
  /** what pgbench said when it aborted (one line per kind) */
  errors: string[];
  /** 1-minute load average when the crash / the POST happened */
  loadAvg1: number;
}

/** Progress reports needed before the crash: pgbench is connected and committing. */
const MIN_SAMPLES = 2;
const LOAD_START_TIMEOUT_MS = 15_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Create the load table on the primary (through `client`), start pgbench and wait until it has
 * reported MIN_SAMPLES seconds of progress.
 */
export async function startTrialLoad(
  state: LocalState,
  dir: string,
  client: Pick<PgvigilClient, 'query'>,
  args: LoadArgs,
): Promise<Load> {
  await client.query(LOAD_TABLE_SQL);
  const load = startLoad({ state, dir, ...args });
  const deadline = performance.now() + LOAD_START_TIMEOUT_MS;
  while (load.samples.length < MIN_SAMPLES) {
    if (performance.now() > deadline) {
      await load.stop();
      throw new Error(
        `pgbench reported no progress within ${LOAD_START_TIMEOUT_MS} ms: ${[...load.errors].join('; ') || 'no output'}`,
      );
    }
    await sleep(50);
  }
  return load;
}

/** The trial's load figures: reports of the first run before `atMono`, of later runs after. */
export function trialLoadFigures(load: Load, atMono: number, loadAvg1: number): TrialLoad {
  const round = (v: number): number | null => (Number.isNaN(v) ? null : Math.round(v));
  return {
    tpsBefore: round(meanTps(load.samples.filter((s) => s.run === 1 && s.atMono <= atMono))),
    tpsAfter: round(meanTps(load.samples.filter((s) => s.run > 1))),
    runs: load.runs(),
    errors: [...load.errors],
    loadAvg1: Math.round(loadAvg1 * 100) / 100,
  };
}

export interface LoadSwitchover {
  mode: Mode;
  result: SwitchoverResult | null;
  /** harness error (the trial measured nothing) */
  error?: string;
  load?: TrialLoad;
  notAcknowledged: number;
}

/**
 * One switchover under load on a fresh cluster: localUp (2 nodes with agents, 3 sentinels,
 * 1 Redis, `profile`, `mode`), the bench table, [sync: a recorded synchronous standby], pgbench,
 * the measuring writer, then bench/lib.ts's runSwitchoverOp pg1 -> pg2. Cleans up whatever
 * happens.
 */
export async function switchoverUnderLoad(opts: {
  trial: number;
  profile: Profile;
  mode: Mode;
  intervalMs: number;
  load: LoadArgs;
}): Promise<LoadSwitchover> {
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-sol-'));
  const out: LoadSwitchover = { mode: opts.mode, result: null, notAcknowledged: 0 };
  let state: LocalState | undefined;
  let client: PgvigilClient | undefined;
  let store: RedisCoordinationStore | undefined;
  let writer: Writer | undefined;
  let load: Load | undefined;
  try {
    state = await localUp({
      dir,
      nodes: 2,
      sentinels: 3,
      apiPort: 0,
      profile: opts.profile,
      replicationMode: opts.mode,
      progress: () => undefined,
    });
    store = await benchStore(state);
    client = await benchClient(state, 4);
    await client.query('CREATE TABLE bench (id bigint PRIMARY KEY, at timestamptz NOT NULL)');
    if (opts.mode === 'sync') await waitSyncRecorded(store, state.cluster, state.nodes[0]!.name);
    load = await startTrialLoad(state, dir, client, opts.load);
    writer = startWriter(client, opts.intervalMs);
    let avg = 0;
    out.result = await runSwitchoverOp(state, 'switchover', opts.trial, writer.acked, async () => {
      avg = loadavg()[0]!; // runSwitchoverOp posts 1 s after this
    });
    await sleep(1500); // progress reports of pgbench on the new primary
    await writer.stop();
    out.notAcknowledged = writer.notAcknowledged();
    out.load = trialLoadFigures(load, out.result.startMono ?? Number.POSITIVE_INFINITY, avg);
  } catch (err) {
    out.error = (err as Error).message.split('\n')[0];
  } finally {
    await writer?.stop().catch(() => undefined);
    await load?.stop().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    if (state)
      await localDown({ dir, quiet: true }).catch((e: Error) =>
        process.stderr.write(`localDown ${dir}: ${e.message}\n`),
      );
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

const ms = (v: number | null): string =>
  v === null || Number.isNaN(v) ? 'n/a' : Number.isFinite(v) ? `${Math.round(v)} ms` : 'FAILED';
const tps = (v: number | null | undefined): string => (v == null ? 'n/a' : String(v));

/** One line per load figure set, for the trial lines. */
export function loadSuffix(l: TrialLoad | undefined): string {
  if (!l) return '';
  return (
    `  pgbench tps before ${tps(l.tpsBefore)}, after ${tps(l.tpsAfter)}, runs ${l.runs}, load avg ${l.loadAvg1}` +
    (l.errors.length ? ` [pgbench: ${l.errors[0]}]` : '')
  );
}

export function switchoverLine(t: LoadSwitchover, i: number): string {
  const r = t.result;
  if (t.error && !r) return `  [switchover ${t.mode} #${i}] HARNESS ERROR: ${t.error}`;
  return (
    `  [switchover ${t.mode} #${i}] ${r?.ok ? 'ok    ' : 'FAILED'} ${r?.from ?? '?'} -> ${r?.to ?? '?'}` +
    `  outage ${ms(r?.outageMs ?? null).padStart(8)}  sentinel-reported ${ms(r?.sentinelMs ?? null).padStart(8)}` +
    `  lost acked ${r?.lost ?? 'n/a'}  not acked ${t.notAcknowledged}  409 retries ${r?.retries409 ?? 0}` +
    loadSuffix(t.load) +
    (r?.error ? `  (${r.error})` : '') +
    (t.error ? `  (${t.error})` : '')
  );
}

/** A failover summary row of the load report (built by failover.ts from its Summary). */
export interface LoadFailoverRow {
  mode: Mode;
  trials: number;
  failed: number;
  p50: string;
  p95: string;
  max: string;
  lost: number;
  sentinelP50: string;
  tpsBefore: number[];
  tpsAfter: number[];
  loadAvg: number[];
  falseFailovers: number;
}

const range = (xs: number[]): string => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length === 0 ? 'n/a' : v[0] === v.at(-1) ? `${v[0]}` : `${v[0]}-${v.at(-1)}`;
};
const median = (xs: number[]): string => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? String(nearestRank(v, 50)) : 'n/a';
};

/** The two tables of `--load`: failover per mode, switchover per mode. */
export function loadReport(failovers: LoadFailoverRow[], switchovers: LoadSwitchover[]): string[] {
  const f = [
    [
      'crash under load',
      'trials',
      'failed',
      'p50',
      'p95',
      'max',
      'lost acked',
      'failover itself p50',
      'pgbench tps before (p50, range)',
      'tps after',
      'load avg',
    ],
    ...failovers.map((r) => [
      `${r.mode} replication`,
      String(r.trials),
      String(r.failed),
      r.p50,
      r.p95,
      r.max,
      String(r.lost),
      r.sentinelP50,
      `${median(r.tpsBefore)} (${range(r.tpsBefore)})`,
      median(r.tpsAfter),
      range(r.loadAvg),
    ]),
  ];
  const modes = [...new Set(switchovers.map((s) => s.mode))];
  const sw = [
    [
      'switchover under load',
      'trials',
      'failed',
      'outage p50',
      'p95',
      'max',
      'lost acked',
      'pgbench tps before (p50, range)',
      'load avg',
    ],
    ...modes.map((mode) => {
      const ts = switchovers.filter((s) => s.mode === mode);
      const outages = ts
        .map((t) => (t.result?.ok && t.result.outageMs !== null ? t.result.outageMs : Infinity))
        .sort((a, b) => a - b);
      const before = ts.flatMap((t) => (t.load?.tpsBefore == null ? [] : [t.load.tpsBefore]));
      return [
        `${mode} replication`,
        String(ts.length),
        String(ts.filter((t) => !t.result?.ok).length),
        ms(nearestRank(outages, 50)),
        ms(nearestRank(outages, 95)),
        ms(outages.at(-1) ?? Number.NaN),
        String(ts.reduce((s, t) => s + (t.result?.lost ?? 0), 0)),
        `${median(before)} (${range(before)})`,
        range(ts.flatMap((t) => (t.load ? [t.load.loadAvg1] : []))),
      ];
    }),
  ];
  return [
    'crash -> first acknowledged write on the new primary, under pgbench load (nearest-rank):',
    ...table(f),
    '',
    'switchover (POST /switchover pg1 -> pg2) write outage under the same load (nearest-rank):',
    ...table(sw),
    `  false failovers before the crash (all modes): ${failovers.reduce((s, r) => s + r.falseFailovers, 0)}`,
  ];
}
