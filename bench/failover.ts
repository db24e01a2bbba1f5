/**
 * `npm run bench:failover`: primary crash (SIGKILL of the postmaster) to first acknowledged
 * write on the new primary, measured with the public client on a fresh local cluster per trial.
 *
 * Method, per trial: `localUp` (N nodes, 3 sentinels, 1 Redis, the timing profile asked; with
 * `--tls` the cluster of `local up --tls` and a client over TLS) in a
 * temp dir; a PgvigilClient writer commits `INSERT INTO bench(id, at) VALUES ($1, now())` every
 * `--interval-ms` (ids increasing; a failed write is not acknowledged and the next attempt uses
 * the next id); 1 s of warm-up; t0 = performance.now() right before `localKill(primary, KILL)`;
 * writes go on until 20 consecutive writes succeeded on the new primary (15 s from t0 at most:
 * a failed trial). Then every acknowledged id is looked up on the new primary. The sentinels'
 * own `failover-completed.durationMs` is caught on the events channel.
 *
 * Percentiles are nearest-rank over every trial of a profile; a failed trial counts as
 * +infinity (shown as `>15000`), so failures can only make the figures worse.
 *
 * `--mode async|sync|both` (default async): replication.mode of the cluster (localUp's
 * replicationMode); in sync mode the crash waits until the topology records the synchronous
 * standby (before that automatic failover is off), and lost acknowledged writes must be 0.
 *
 * `--load` (issue 12): the same trials while pgbench writes as fast as the machine allows
 * (bench/pgbench.ts: `pgbench -n -c 4 -j 2 -P 1` from the server's bindir, a custom script of one
 * single-row INSERT per transaction into its own table, `--clients`/`--jobs` to change it),
 * started on the primary once the bench table is everywhere (and, in sync mode, the sync standby
 * recorded) and given 2 s of progress reports before the writer's warm-up; its clients abort at
 * the crash and it is started again on whichever node accepts writes (multi-host conninfo,
 * target_session_attrs=read-write), so the new primary is loaded too. pgbench is the load, the
 * measurement stays the writer above. Reported per trial: pgbench's mean tps before the crash
 * (its 1 s reports), after it (the restarted runs), the 1-minute load average at the crash.
 * Defaults with `--load`: 5 trials, `--profile default`, `--mode both`; after the crashes, as
 * many switchovers per mode (bench/load.ts: a fresh cluster, the same load and writer, then
 * bench/lib.ts's runSwitchoverOp pg1 -> pg2: outage = first ack on pg2 - last ack on pg1).
 * Every trial stops pgbench, the writer and the cluster and removes its temp dir, also when
 * it fails. `--load` refuses `--tls` (pgbench connects without TLS).
 *
 * Exit 0 whatever the figures (it is a measurement); 1 only when the harness itself failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import type { RedisCoordinationStore } from '../src/adapters/redis/store.js';
import type { PgvigilClient } from '../src/client/index.js';
import type { StampedEvent } from '../src/core/events.js';
import { localDown, localKill, localUp } from '../src/local/cluster.js';
import type { LocalState } from '../src/local/state.js';
import {
  type Ack,
  benchClient,
  benchStore,
  nearestRank,
  onNode,
  presentIds,
  startWriter,
  table,
  waitSyncRecorded,
  type Writer,
} from './lib.js';
import {
  type LoadArgs,
  type LoadFailoverRow,
  loadReport,
  loadSuffix,
  type LoadSwitchover,
  type Mode,
  type Profile,
  startTrialLoad,
  switchoverLine,
  switchoverUnderLoad,
  type TrialLoad,
  trialLoadFigures,
} from './load.js';
import type { Load } from './pgbench.js';

const CLUSTER = 'local';
const WARMUP_MS = 1000;
const TRIAL_TIMEOUT_MS = 15_000;
const CONSECUTIVE_OK = 20;
/** After the end condition, how long to keep listening for a late or duplicate failover-completed. */
const EVENT_SETTLE_MS = 1500;

interface Trial {
  profile: Profile;
  /** replication.mode of the cluster */
  mode: Mode;
  trial: number;
  ok: boolean;
  /** harness error (the trial measured nothing) */
  error?: string;
  failureReason?: string;
  oldPrimary: string;
  newPrimary: string | null;
  crashToFirstAckMs: number | null;
  acknowledged: number;
  notAcknowledged: number;
  missingAcknowledged: number | null;
  /** each missing acknowledged write: id, node that acknowledged it, ack time relative to the crash */
  missing: { id: number; ackedBy: string; ackMsFromCrash: number }[];
  sentinelDurationMs: number | null;
  failoversCompleted: number;
  exactlyOneFailover: boolean;
  /** failover-started seen before the crash: a false failover of a healthy primary */
  falseFailovers: number;
  /** `--load`: pgbench's figures and the 1-minute load average at the crash */
  load?: TrialLoad;
}

interface Summary {
  profile: Profile;
  mode: Mode;
  loaded: boolean;
  trials: number;
  failed: number;
  harnessErrors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  missingAcknowledged: number;
  missingAckedByOld: number;
  falseFailovers: number;
  notExactlyOne: number;
  sentinelP50: number | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Args {
  trials: number;
  profiles: Profile[];
  modes: Mode[];
  nodes: number;
  intervalMs: number;
  json: boolean;
  tls: boolean;
  /** `--load`: pgbench's shape; null without it */
  load: LoadArgs | null;
}

function args(): Args {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string' },
      profile: { type: 'string' },
      mode: { type: 'string' },
      nodes: { type: 'string', default: '2' },
      'interval-ms': { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
      tls: { type: 'boolean', default: false },
      load: { type: 'boolean', default: false },
      clients: { type: 'string', default: '4' },
      jobs: { type: 'string', default: '2' },
    },
    strict: true,
  });
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} ${v}: expected an integer >= ${min}`);
    return n;
  };
  const load = values.load;
  // --load defaults: 5 trials per mode, the default profile, both replication modes
  const profile = values.profile ?? (load ? 'default' : 'both');
  if (profile !== 'default' && profile !== 'fast' && profile !== 'both')
    throw new Error(`--profile ${profile}: use default, fast or both`);
  const mode = values.mode ?? (load ? 'both' : 'async');
  if (mode !== 'async' && mode !== 'sync' && mode !== 'both')
    throw new Error(`--mode ${mode}: use async, sync or both`);
  if (load && values.tls)
    throw new Error('--load with --tls: pgbench is started without TLS; run them apart');
  if (Number(values.jobs) > Number(values.clients))
    throw new Error(`--jobs ${values.jobs}: at most --clients (${values.clients})`);
  if (!load && (values.clients !== '4' || values.jobs !== '2'))
    throw new Error('--clients/--jobs shape the pgbench load: add --load');
  return {
    trials: int('trials', values.trials ?? (load ? '5' : '10'), 1),
    profiles: profile === 'both' ? ['default', 'fast'] : [profile],
    modes: mode === 'both' ? ['async', 'sync'] : [mode],
    nodes: int('nodes', values.nodes, 2),
    intervalMs: int('interval-ms', values['interval-ms'], 1),
    json: values.json,
    tls: values.tls,
    load: load
      ? { clients: int('clients', values.clients, 1), jobs: int('jobs', values.jobs, 1) }
      : null,
  };
}

/** Wait until every standby has replayed the bench table (a harness precondition, not measured). */
async function waitTableEverywhere(state: LocalState): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const node of state.nodes.slice(1)) {
    for (;;) {
      const r = await onNode(state, node, (c) =>
        c.query<{ ok: boolean }>("SELECT to_regclass('public.bench') IS NOT NULL AS ok"),
      );
      if (r.rows[0]?.ok) break;
      if (Date.now() > deadline)
        throw new Error(`standby ${node.name} never replayed the bench table`);
      await sleep(20);
    }
  }
}

interface TrialOptions {
  profile: Profile;
  mode: Mode;
  trial: number;
  nodes: number;
  intervalMs: number;
  tls: boolean;
  load: LoadArgs | null;
}

async function runTrial(o: TrialOptions): Promise<Trial> {
  const { profile, mode, trial } = o;
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-'));
  const result: Trial = {
    profile,
    mode,
    trial,
    ok: false,
    oldPrimary: 'pg1',
    newPrimary: null,
    crashToFirstAckMs: null,
    acknowledged: 0,
    notAcknowledged: 0,
    missingAcknowledged: null,
    missing: [],
    sentinelDurationMs: null,
    failoversCompleted: 0,
    exactlyOneFailover: false,
    falseFailovers: 0,
  };
  let state: LocalState | undefined;
  let client: PgvigilClient | undefined;
  let store: RedisCoordinationStore | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  let writer: Writer | undefined;
  let load: Load | undefined;
  try {
    state = await localUp({
      dir,
      nodes: o.nodes,
      sentinels: 3,
      apiPort: 0,
      profile,
      tls: o.tls,
      replicationMode: mode,
      progress: () => undefined,
    });
    const portToName = new Map(state.nodes.map((n) => [n.port, n.name]));

    let t0: number | null = null;
    const events: { event: StampedEvent; atMono: number }[] = [];
    store = await benchStore(state);
    unsubscribe = await store.subscribe(CLUSTER, (event) => {
      events.push({ event, atMono: performance.now() });
      if (event.type === 'failover-started' && t0 === null) result.falseFailovers++;
    });

    client = await benchClient(state, 4);
    await client.query('CREATE TABLE bench (id bigint PRIMARY KEY, at timestamptz NOT NULL)');
    await waitTableEverywhere(state);
    const oldPrimary = client.primary;
    const oldPort = state.nodes.find((n) => n.name === oldPrimary)!.port;
    result.oldPrimary = oldPrimary;
    // sync: automatic failover is off until a synchronous standby is recorded
    if (mode === 'sync') await waitSyncRecorded(store, CLUSTER, oldPrimary);
    if (o.load) load = await startTrialLoad(state, dir, client, o.load);

    // The writer: one INSERT at a time, `intervalMs` between attempts, a new id every attempt.
    let consecutiveOnNew = 0;
    let firstAckOnNew: { atMono: number; port: number } | null = null;
    writer = startWriter(client, o.intervalMs, {
      onAck: ({ port, atMono }) => {
        if (t0 !== null && port !== oldPort) {
          firstAckOnNew ??= { atMono, port };
          consecutiveOnNew++;
        } else consecutiveOnNew = 0;
      },
      onFail: () => void (consecutiveOnNew = 0),
    });

    await sleep(WARMUP_MS);
    const avgAtCrash = loadavg()[0]!;
    t0 = performance.now();
    await localKill({ dir, name: oldPrimary, signal: 'KILL' });
    const start = t0;
    while (consecutiveOnNew < CONSECUTIVE_OK && performance.now() - start < TRIAL_TIMEOUT_MS)
      await sleep(5);
    await writer.stop();

    const acked: Ack[] = writer.acked;
    result.acknowledged = acked.length;
    result.notAcknowledged = writer.notAcknowledged();
    const first = firstAckOnNew as { atMono: number; port: number } | null;
    if (first) {
      result.newPrimary = portToName.get(first.port) ?? `port ${first.port}`;
      result.crashToFirstAckMs = first.atMono - start;
    }
    result.ok = consecutiveOnNew >= CONSECUTIVE_OK;
    if (!result.ok)
      result.failureReason = first
        ? `no ${CONSECUTIVE_OK} consecutive writes on ${result.newPrimary} within ${TRIAL_TIMEOUT_MS} ms`
        : `no acknowledged write on a new primary within ${TRIAL_TIMEOUT_MS} ms`;

    // Acknowledged ids missing on the new primary (or on the old one when nothing failed over).
    const checkName = result.newPrimary ?? oldPrimary;
    const checkNode = state.nodes.find((n) => n.name === checkName);
    if (checkNode && result.newPrimary) {
      const present = await presentIds(
        state,
        checkNode,
        acked.map((a) => a.id),
      );
      result.missing = acked
        .filter((a) => !present.has(a.id))
        .map((a) => ({
          id: a.id,
          ackedBy: portToName.get(a.port) ?? `port ${a.port}`,
          ackMsFromCrash: Math.round((a.atMono - start) * 10) / 10,
        }));
      result.missingAcknowledged = result.missing.length;
    }

    // Let a late (or a second) failover-completed arrive (pgbench, restarted, loads the new primary).
    const settleUntil = performance.now() + EVENT_SETTLE_MS;
    while (performance.now() < settleUntil) await sleep(50);
    const completed = events.filter((e) => e.event.type === 'failover-completed');
    result.failoversCompleted = completed.length;
    result.exactlyOneFailover = completed.length === 1;
    const c0 = completed[0]?.event;
    if (c0?.type === 'failover-completed') result.sentinelDurationMs = c0.durationMs;
    if (load) result.load = trialLoadFigures(load, start, avgAtCrash);
  } catch (err) {
    result.error = (err as Error).message.split('\n')[0];
  } finally {
    await writer?.stop().catch(() => undefined);
    await load?.stop().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await unsubscribe?.().catch(() => undefined);
    await store?.close().catch(() => undefined);
    if (state)
      await localDown({ dir, quiet: true }).catch((e: Error) =>
        process.stderr.write(`localDown ${dir}: ${e.message}\n`),
      );
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/** `default`, or `default, sync` when the mode is not the plain bench's async or under load. */
function label(profile: Profile, mode: Mode, loaded: boolean): string {
  return mode === 'async' && !loaded ? profile : `${profile}, ${mode}`;
}

function summarize(profile: Profile, mode: Mode, trials: Trial[]): Summary {
  const measured = trials.filter((t) => !t.error);
  const times = measured
    .map((t) =>
      t.ok && t.crashToFirstAckMs !== null ? t.crashToFirstAckMs : Number.POSITIVE_INFINITY,
    )
    .sort((a, b) => a - b);
  const sentinel = measured
    .flatMap((t) => (t.sentinelDurationMs === null ? [] : [t.sentinelDurationMs]))
    .sort((a, b) => a - b);
  return {
    profile,
    mode,
    loaded: trials.some((t) => t.load !== undefined),
    trials: trials.length,
    failed: measured.filter((t) => !t.ok).length,
    harnessErrors: trials.length - measured.length,
    p50: nearestRank(times, 50),
    p95: nearestRank(times, 95),
    p99: nearestRank(times, 99),
    max: times.length ? times[times.length - 1]! : Number.NaN,
    missingAcknowledged: measured.reduce((s, t) => s + (t.missingAcknowledged ?? 0), 0),
    missingAckedByOld: measured.reduce(
      (s, t) => s + t.missing.filter((m) => m.ackedBy === t.oldPrimary).length,
      0,
    ),
    falseFailovers: measured.reduce((s, t) => s + t.falseFailovers, 0),
    notExactlyOne: measured.filter((t) => !t.exactlyOneFailover).length,
    sentinelP50: sentinel.length ? nearestRank(sentinel, 50) : null,
  };
}

const ms = (v: number | null): string =>
  v === null || Number.isNaN(v)
    ? 'n/a'
    : Number.isFinite(v)
      ? `${Math.round(v)} ms`
      : `>${TRIAL_TIMEOUT_MS} ms`;

function trialLine(t: Trial): string {
  const name = label(t.profile, t.mode, t.load !== undefined);
  if (t.error) return `  [${name} #${t.trial}] HARNESS ERROR: ${t.error}`;
  return (
    `  [${name} #${t.trial}] ${t.ok ? 'ok    ' : 'FAILED'} ${t.oldPrimary} -> ${t.newPrimary ?? '?'}` +
    `  crash->first-ack ${ms(t.crashToFirstAckMs).padStart(8)}` +
    `  sentinel started->completed ${ms(t.sentinelDurationMs).padStart(8)}` +
    `  acked ${t.acknowledged}, not acked ${t.notAcknowledged}, missing acked ${t.missingAcknowledged ?? 'n/a'}` +
    (t.missing.length
      ? ` [${t.missing.map((m) => `id ${m.id} acked by ${m.ackedBy} at ${m.ackMsFromCrash >= 0 ? '+' : ''}${m.ackMsFromCrash} ms`).join('; ')}]`
      : '') +
    `  failover-completed x${t.failoversCompleted}${t.exactlyOneFailover ? '' : ' (NOT exactly one)'}` +
    (t.falseFailovers ? `  FALSE FAILOVERS ${t.falseFailovers}` : '') +
    (t.failureReason ? `  (${t.failureReason})` : '') +
    loadSuffix(t.load)
  );
}

function summaryLines(s: Summary): string[] {
  return [
    `profile ${label(s.profile, s.mode, s.loaded)}: ${s.trials} trials, ${s.failed} failed, ${s.harnessErrors} harness errors`,
    `  crash -> first acknowledged write on the new primary (nearest-rank):`,
    `    p50 ${ms(s.p50)}   p95 ${ms(s.p95)}   p99 ${ms(s.p99)}   max ${ms(s.max)}`,
    `  sentinel-reported failover duration (failover-started -> completed, from the event) p50: ${ms(s.sentinelP50)}`,
    `  missing acknowledged writes (total): ${s.missingAcknowledged}` +
      (s.missingAcknowledged
        ? ` (${s.missingAckedByOld} of them acknowledged by the crashed primary; replication mode ${s.mode})`
        : ''),
    `  false failovers (failover-started before the crash): ${s.falseFailovers}`,
    `  trials without exactly one failover-completed: ${s.notExactlyOne}`,
  ];
}

function comparison(summaries: Summary[]): string[] {
  const sec = (v: number): string =>
    Number.isFinite(v) ? `${(v / 1000).toFixed(2)} s` : `>${TRIAL_TIMEOUT_MS / 1000} s`;
  const rows = [
    ['system', 'timings', 'crash -> first write', 'source'],
    ['Patroni 3.0.2', 'defaults', '24.6 s', 'DESIGN.md reference'],
    ['Patroni 3.0.2', 'documented minimum timings', '20.1 s', 'DESIGN.md reference'],
    ['pg_auto_failover 2.0', 'defaults', '50.5 s', 'DESIGN.md reference'],
    ['pg_auto_failover 2.0', '100 ms health checks (*)', '1.4 s', 'DESIGN.md reference'],
    ...summaries.map((s) => [
      'pgvigil',
      `${s.profile} profile`,
      `p50 ${sec(s.p50)}, p99 ${sec(s.p99)}`,
      `this run (${s.trials} trial${s.trials === 1 ? '' : 's'})`,
    ]),
  ];
  const targets = [['target', 'measured', 'result']];
  const get = (p: Profile): Summary | undefined => summaries.find((s) => s.profile === p);
  const check = (
    label: string,
    s: Summary | undefined,
    v: (s: Summary) => number,
    limit: number,
  ): void => {
    if (!s) return void targets.push([label, 'not run', '-']);
    const value = v(s);
    targets.push([label, sec(value), value <= limit ? 'PASS' : 'MISS']);
  };
  check('default: p50 <= 2 s', get('default'), (s) => s.p50, 2000);
  check('default: p99 <= 3 s', get('default'), (s) => s.p99, 3000);
  check('fast: p50 <= 1 s', get('fast'), (s) => s.p50, 1000);
  return [
    'comparison (reference figures from DESIGN.md, same machine kind, same crash; not re-measured by this script):',
    ...table(rows),
    '  (*) pg_auto_failover at 100 ms checks fails over a healthy primary on one missed check.',
    '',
    'targets (DESIGN.md, "Performance targets"):',
    ...table(targets),
  ];
}

async function main(): Promise<number> {
  const a = args();
  const out = (line: string): void => void process.stdout.write(line + '\n');
  const per = a.modes.length > 1 || a.modes[0] !== 'async' ? 'profile and mode' : 'profile';
  out(
    `pgvigil failover bench: ${a.trials} trial(s) per ${per} (${a.profiles.join(', ')}` +
      `${per === 'profile' ? '' : `; ${a.modes.join(', ')} replication`}), ${a.nodes} nodes, 3 sentinels, 1 Redis, ` +
      `${a.tls ? 'TLS (local up --tls: verify-full, rediss://), ' : ''}write every ${a.intervalMs} ms, crash = SIGKILL of the primary's postmaster`,
  );
  if (a.load)
    out(
      `load: pgbench -n -c ${a.load.clients} -j ${a.load.jobs} -P 1, one single-row INSERT per transaction, ` +
        `restarted on the new primary when it aborts; then ${a.trials} switchover(s) pg1 -> pg2 per mode under the same load`,
    );
  out(
    `machine: ${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ` +
      `load average ${loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')} at start`,
  );
  const all: Trial[] = [];
  const summaries: Summary[] = [];
  for (const profile of a.profiles) {
    for (const mode of a.modes) {
      out(
        `\nprofile ${label(profile, mode, a.load !== null)}${mode === 'async' && !a.load ? '' : ' replication'}` +
          `${a.load ? ', under load' : ''}:`,
      );
      const trials: Trial[] = [];
      for (let i = 1; i <= a.trials; i++) {
        const t = await runTrial({ ...a, profile, mode, trial: i });
        trials.push(t);
        out(trialLine(t));
      }
      all.push(...trials);
      summaries.push(summarize(profile, mode, trials));
    }
  }
  const switchovers: LoadSwitchover[] = [];
  if (a.load) {
    for (const profile of a.profiles) {
      for (const mode of a.modes) {
        out(`\nswitchover, profile ${label(profile, mode, true)} replication, under load:`);
        for (let i = 1; i <= a.trials; i++) {
          const t = await switchoverUnderLoad({
            trial: i,
            profile,
            mode,
            intervalMs: a.intervalMs,
            load: a.load,
          });
          switchovers.push(t);
          out(switchoverLine(t, i));
        }
      }
    }
  }
  out('');
  for (const s of summaries) for (const line of summaryLines(s)) out(line);
  out('');
  if (a.load) {
    const rows: LoadFailoverRow[] = summaries.map((s) => {
      const ts = all.filter((t) => t.profile === s.profile && t.mode === s.mode && !t.error);
      return {
        mode: s.mode,
        trials: s.trials,
        failed: s.failed + s.harnessErrors,
        p50: ms(s.p50),
        p95: ms(s.p95),
        max: ms(s.max),
        lost: s.missingAcknowledged,
        sentinelP50: ms(s.sentinelP50),
        tpsBefore: ts.flatMap((t) => (t.load?.tpsBefore == null ? [] : [t.load.tpsBefore])),
        tpsAfter: ts.flatMap((t) => (t.load?.tpsAfter == null ? [] : [t.load.tpsAfter])),
        loadAvg: ts.flatMap((t) => (t.load ? [t.load.loadAvg1] : [])),
        falseFailovers: s.falseFailovers,
      };
    });
    for (const line of loadReport(rows, switchovers)) out(line);
    out(
      `  load average at the end: ${loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}`,
    );
  } else for (const line of comparison(summaries)) out(line);
  if (a.json) {
    const finite = (v: number): number | null =>
      Number.isFinite(v) ? Math.round(v * 10) / 10 : null;
    out(
      JSON.stringify(
        {
          params: {
            trials: a.trials,
            profiles: a.profiles,
            modes: a.modes,
            load: a.load,
            nodes: a.nodes,
            intervalMs: a.intervalMs,
          },
          summaries: summaries.map((s) => ({
            ...s,
            p50: finite(s.p50),
            p95: finite(s.p95),
            p99: finite(s.p99),
            max: finite(s.max),
          })),
          trials: all,
          ...(a.load ? { switchovers } : {}),
          references: {
            note: 'reference figures from DESIGN.md, same machine kind, same crash; not re-measured by this script',
            patroni_3_0_2: { defaultsS: 24.6, minimumTimingsS: 20.1 },
            pg_auto_failover_2_0: { defaultsS: 50.5, healthChecks100msS: 1.4 },
          },
        },
        null,
        2,
      ),
    );
  }
  return all.some((t) => t.error) || switchovers.some((t) => t.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:failover: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
