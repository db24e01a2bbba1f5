/**
 * `npm run bench:peers`: Patroni + etcd and pg_auto_failover beside pgvigil, in one run, the
 * same crash and the same writer.
 *
 * Method, per trial and per system/profile: a fresh 2-node PostgreSQL 15 cluster of that system
 * in a temp dir (the peers from their Debian packages, run as the postgres user); the idle CPU
 * (utime+stime from /proc/<pid>/stat over `--idle-s` after `--warmup-s`) and RSS (/proc/<pid>/status) of the
 * system's own processes (not the data nodes' postgres); then a writer on loopback (one
 * connection, used only after `pg_is_in_recovery()` is false, trying every port in turn)
 * commits an INSERT every `--interval-ms`; after 1 s, t0 and SIGKILL of the primary's
 * postmaster and its HA agent (patroni / pg_autoctl / pgvigil agent); the trial ends after 20
 * consecutive writes on the new primary (or `--timeout-s`: a failed trial, counted as
 * +infinity). Lost = acknowledged ids missing on the new primary.
 *
 * Exit 0 whatever the figures; 1 when the harness failed or the packages are missing.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { nearestRank } from './lib.js';
import { killAllStarted, type SystemUnderTest } from './peers/common.js';
import { ensureInstalled } from './peers/os.js';
import { patroni, PATRONI_DEFAULT, PATRONI_MIN } from './peers/patroni.js';
import { pgaf, PGAF_DEFAULT, PGAF_FAST } from './peers/pgaf.js';
import { pgvigil } from './peers/pgvigil.js';
import { type PeerTrial, peerTrial } from './peers/trial.js';

const SYSTEMS = ['patroni', 'pgaf', 'pgvigil'] as const;
type SystemKey = (typeof SYSTEMS)[number];

function args(): {
  trials: number;
  only: SystemKey[];
  json: boolean;
  intervalMs: number;
  idleSeconds: number;
  warmupSeconds: number;
  timeoutMs: number;
} {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '5' },
      only: { type: 'string', default: SYSTEMS.join(',') },
      json: { type: 'boolean', default: false },
      'interval-ms': { type: 'string', default: '10' },
      'idle-s': { type: 'string', default: '10' },
      'warmup-s': { type: 'string', default: '10' },
      'timeout-s': { type: 'string', default: '120' },
    },
    strict: true,
  });
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} ${v}: expected an integer >= ${min}`);
    return n;
  };
  const only = values.only.split(',').map((s) => s.trim());
  for (const s of only)
    if (!(SYSTEMS as readonly string[]).includes(s))
      throw new Error(`--only ${s}: use a comma-separated subset of ${SYSTEMS.join(',')}`);
  return {
    trials: int('trials', values.trials, 1),
    only: only as SystemKey[],
    json: values.json,
    intervalMs: int('interval-ms', values['interval-ms'], 1),
    idleSeconds: int('idle-s', values['idle-s'], 1),
    warmupSeconds: int('warmup-s', values['warmup-s'], 0),
    timeoutMs: int('timeout-s', values['timeout-s'], 5) * 1000,
  };
}

function systems(only: SystemKey[]): SystemUnderTest[] {
  const all: Record<SystemKey, SystemUnderTest[]> = {
    patroni: [patroni('defaults', PATRONI_DEFAULT), patroni('minimum timings', PATRONI_MIN)],
    pgaf: [pgaf('defaults', PGAF_DEFAULT), pgaf('fast health checks', PGAF_FAST)],
    pgvigil: [pgvigil('default'), pgvigil('fast')],
  };
  return only.flatMap((k) => all[k]);
}

interface Row {
  system: string;
  profile: string;
  settings: string;
  trials: number;
  failed: number;
  p50: number;
  p95: number;
  max: number;
  lost: number;
  idleCpuPct: number;
  idleRssMb: number;
}

const median = (v: number[]): number =>
  nearestRank(
    [...v].sort((a, b) => a - b),
    50,
  );

function summarize(sut: SystemUnderTest, ts: PeerTrial[]): Row {
  const times = ts
    .map((t) => (t.ok && t.crashToFirstAckMs !== null ? t.crashToFirstAckMs : Infinity))
    .sort((a, b) => a - b);
  const idle = ts.filter((t) => t.idleCpuPct !== null);
  return {
    system: sut.system,
    profile: sut.profile,
    settings: sut.settings,
    trials: ts.length,
    failed: ts.filter((t) => !t.ok).length,
    p50: nearestRank(times, 50),
    p95: nearestRank(times, 95),
    max: times.at(-1) ?? NaN,
    lost: ts.reduce((s, t) => s + (t.lostAcknowledged ?? 0), 0),
    idleCpuPct: median(idle.map((t) => t.idleCpuPct!)),
    idleRssMb: median(idle.map((t) => t.idleRssMb!)),
  };
}

const sec = (v: number): string =>
  Number.isNaN(v) ? 'n/a' : Number.isFinite(v) ? (v / 1000).toFixed(2) : 'failed';

function table(rows: string[][]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r, j) => {
    const line = '  ' + r.map((c, i) => c.padEnd(w[i]!)).join('  ');
    return j === 0 ? `${line}\n  ${w.map((n) => '-'.repeat(n)).join('  ')}` : line;
  });
}

function trialLine(t: PeerTrial): string {
  const head = `  [${t.system} / ${t.profile} #${t.trial}]`;
  if (t.error) return `${head} HARNESS ERROR: ${t.error}`;
  return (
    `${head} ${t.ok ? 'ok' : 'FAILED'} crash->first write ${sec(t.crashToFirstAckMs ?? NaN)} s, ` +
    `acked ${t.acknowledged}, not acked ${t.notAcknowledged}, lost ${t.lostAcknowledged ?? 'n/a'}, ` +
    `idle ${t.idleCpuPct?.toFixed(2)} % CPU ${t.idleRssMb?.toFixed(1)} MB (${t.haProcesses} processes); ${t.crashed ?? ''}`
  );
}

function report(rows: Row[], out: (l: string) => void): void {
  out('\ncrash -> first acknowledged write on the new primary (s, nearest-rank):');
  for (const l of table([
    ['system', 'profile', 'trials', 'failed', 'p50', 'p95', 'max', 'lost', 'idle CPU %', 'RSS MB'],
    ...rows.map((r) => [
      r.system,
      r.profile,
      String(r.trials),
      String(r.failed),
      sec(r.p50),
      sec(r.p95),
      sec(r.max),
      String(r.lost),
      Number.isNaN(r.idleCpuPct) ? 'n/a' : r.idleCpuPct.toFixed(2),
      Number.isNaN(r.idleRssMb) ? 'n/a' : r.idleRssMb.toFixed(1),
    ]),
  ]))
    out(l);
  out('settings:');
  for (const r of rows) out(`  ${r.system} / ${r.profile}: ${r.settings}`);
  const ours = rows.filter((r) => r.system.startsWith('pgvigil'));
  const peers = rows.filter((r) => !r.system.startsWith('pgvigil'));
  if (!ours.length || !peers.length) return;
  out(
    '\npgvigil / peer ratios (p50 crash -> first write, idle CPU, RSS; below 1 = pgvigil lower):',
  );
  for (const o of ours)
    for (const p of peers) {
      const ratio = o.p50 / p.p50;
      const x = (a: number, b: number): string =>
        Number.isFinite(a / b) ? (a / b).toFixed(2) : 'n/a';
      out(
        `  pgvigil ${o.profile} vs ${p.system} ${p.profile}: time ` +
          (Number.isFinite(ratio)
            ? `${ratio.toFixed(3)} (${(p.p50 / o.p50).toFixed(1)}x faster)`
            : 'n/a') +
          `, idle CPU ${x(o.idleCpuPct, p.idleCpuPct)}, RSS ${x(o.idleRssMb, p.idleRssMb)}`,
      );
    }
}

async function main(): Promise<number> {
  const a = args();
  const out = (line: string): void => void process.stdout.write(line + '\n');
  if ((a.only.includes('patroni') || a.only.includes('pgaf')) && !ensureInstalled(out)) return 1;
  out(
    `bench:peers: ${a.trials} trial(s) per system/profile (${a.only.join(', ')}), 2 nodes, write every ` +
      `${a.intervalMs} ms, idle footprint over ${a.idleSeconds} s after ${a.warmupSeconds} s, crash = SIGKILL of the primary's postmaster and its HA agent`,
  );
  out(
    `machine: ${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`,
  );
  const rows: Row[] = [];
  const trials: PeerTrial[] = [];
  for (const sut of systems(a.only)) {
    out(`\n${sut.system} / ${sut.profile} (${sut.settings}):`);
    const ts: PeerTrial[] = [];
    for (let i = 1; i <= a.trials; i++) {
      const t = await peerTrial(sut, i, a);
      ts.push(t);
      out(trialLine(t));
    }
    trials.push(...ts);
    rows.push(summarize(sut, ts));
  }
  report(rows, out);
  if (a.json) {
    const n = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 100) / 100 : null);
    out(
      JSON.stringify({
        params: a,
        rows: rows.map((r) => ({ ...r, p50: n(r.p50), p95: n(r.p95), max: n(r.max) })),
        trials,
      }),
    );
  }
  return trials.some((t) => t.error) ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    killAllStarted();
    process.exit(130);
  });

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    killAllStarted();
    process.stderr.write(`bench:peers: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
