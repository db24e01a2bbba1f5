/**
 * pgbench as the load of `bench:failover --load`: PostgreSQL's own pgbench (from the server's
 * bindir, as findPgBinaries finds it) runs a custom script of one single-row INSERT per
 * transaction into a `load` table, `-n -c <clients> -j <jobs> -P 1`, as fast as the machine
 * allows. It is the load, not the measurement: when its primary dies (or is stopped by a
 * switchover) its clients abort and it exits; it is then started again at once (every 200 ms
 * until one connects) on a multi-host conninfo with `target_session_attrs=read-write`, so the
 * new primary carries the same load as soon as it accepts writes.
 *
 * Why single-row INSERTs and not the TPC-B-like default: at the small scale a throw-away
 * cluster affords, TPC-B's clients queue on the few pgbench_branches rows; plain INSERTs keep
 * every client committing, which loads the commit path (WAL flush, and in sync mode the wait
 * for the standby) that a failover and synchronous replication are about.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

import { pgBin } from '../src/adapters/process/index.js';
import { localSecrets, type LocalState } from '../src/local/state.js';

/** One `-P` progress report of pgbench. */
export interface ProgressSample {
  /** seconds since that pgbench run began */
  atS: number;
  tps: number;
  latMs: number;
  /** failed transactions in the interval (pgbench 15 prints it; 0 when absent) */
  failed: number;
}

/**
 * One line of pgbench's stderr as a progress report, or null: pgbench 15's "progress: 2.0 s,
 * 1234.5 tps, lat 3.241 ms stddev 1.022, 0 failed" (older ones print no "failed"; the fields
 * `--rate`, `--latency-limit` or `--max-tries` add after it are ignored).
 */
export function parseProgressLine(line: string): ProgressSample | null {
  const m = /^progress: (\d+(?:\.\d+)?) s, (\d+(?:\.\d+)?) tps, lat (\d+(?:\.\d+)?) ms/.exec(
    line.trim(),
  );
  if (!m) return null;
  const failed = /, (\d+) failed/.exec(line);
  return {
    atS: Number(m[1]),
    tps: Number(m[2]),
    latMs: Number(m[3]),
    failed: failed ? Number(failed[1]) : 0,
  };
}

/**
 * Whether a pgbench stderr line reports an aborted client (its server went away): "client 0
 * aborted in command 0 (SQL) of script 0; ..." or "client 2 script 0 aborted in command 0
 * query 0: FATAL: ...".
 */
export function isAbortLine(line: string): boolean {
  return /client \d+ (?:script \d+ )?aborted/.test(line);
}

/** Mean of the samples' tps (each covers one second); NaN when there is none. */
export function meanTps(samples: readonly { tps: number }[]): number {
  if (samples.length === 0) return Number.NaN;
  return samples.reduce((s, x) => s + x.tps, 0) / samples.length;
}

/** A progress report stamped with the run it came from and when it arrived. */
export interface StampedSample extends ProgressSample {
  run: number;
  atMono: number;
}

export interface Load {
  /** every progress report so far, of every run */
  readonly samples: StampedSample[];
  /** pgbench runs started (1 + restarts, failed connection attempts included) */
  runs(): number;
  /** first line of each kind of abort/error seen, for the report */
  readonly errors: Set<string>;
  /** stop the running pgbench (SIGTERM by its pid, SIGKILL after 3 s) and start no other */
  stop(): Promise<void>;
}

export interface LoadOptions {
  state: LocalState;
  /** where the script file is written (the trial's dir) */
  dir: string;
  clients: number;
  jobs: number;
}

/** The table the pgbench script fills (created on the primary before startLoad). */
export const LOAD_TABLE_SQL =
  'CREATE TABLE load (id bigserial PRIMARY KEY, client int NOT NULL, at timestamptz NOT NULL DEFAULT now())';

const RESTART_MS = 200;

/** Start pgbench against whichever node accepts writes, restarting it whenever it exits. */
export function startLoad(opts: LoadOptions): Load {
  const script = join(opts.dir, 'load.sql');
  writeFileSync(script, 'INSERT INTO load(client) VALUES (:client_id);\n', { mode: 0o600 });
  const { state } = opts;
  const conninfo = [
    `host=${state.nodes.map((n) => n.host).join(',')}`,
    `port=${state.nodes.map((n) => n.port).join(',')}`,
    `user=${state.client.user}`,
    `dbname=${state.client.database}`,
    'target_session_attrs=read-write',
    'connect_timeout=2',
  ].join(' ');
  const env = { ...process.env, PGPASSWORD: localSecrets(state).superPassword };
  const args = [
    '-n',
    '-c',
    String(opts.clients),
    '-j',
    String(opts.jobs),
    '-T',
    '600',
    '-P',
    '1',
    '-f',
    script,
    conninfo,
  ];
  const samples: StampedSample[] = [];
  const errors = new Set<string>();
  let runs = 0;
  let stopped = false;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const run = (): void => {
    if (stopped) return;
    const n = ++runs;
    const c = spawn(pgBin('pgbench'), args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    createInterface({ input: c.stderr! }).on('line', (line) => {
      const p = parseProgressLine(line);
      if (p) samples.push({ ...p, run: n, atMono: performance.now() });
      else if (isAbortLine(line) || /error|fatal/i.test(line))
        errors.add(
          line
            .replace(/^pgbench: /, '')
            .replace(/client \d+/, 'client N')
            .slice(0, 200),
        );
    });
    exited = new Promise((resolve) => {
      c.once('exit', () => {
        child = undefined;
        if (!stopped) timer = setTimeout(run, RESTART_MS);
        resolve();
      });
      c.once('error', (err) => {
        errors.add(`pgbench: ${err.message}`);
      });
    });
  };
  run();

  return {
    samples,
    errors,
    runs: () => runs,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      const c = child;
      if (!c?.pid) return;
      c.kill('SIGTERM');
      const killer = setTimeout(() => c.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    },
  };
}
