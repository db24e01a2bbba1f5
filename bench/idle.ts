/**
 * `npm run bench:idle -- [--seconds 60] [--warmup 20] [--nodes 2] [--redis 3] [--no-backups]
 * [--json]`: the idle footprint of pgvigil (issue 12: sentinel <= 0.5 % of a core, agent <= 0.3 %,
 * RSS <= 60 MB each) and the load it puts on PostgreSQL.
 *
 * Method: one `localUp` cluster in a temp dir, as `pgvigil local up --redis 3` makes it (nodes
 * with agents, 3 sentinels, 3 independent Redis servers, WAL archiving and the backup schedule
 * on, default timings), left alone for `--warmup` s, then sampled every second for `--seconds`:
 * - per sentinel and agent: CPU % of one core = utime+stime ticks used over the window /
 *   (clock ticks per second * seconds), read from /proc/<pid>/stat; the same for its reaped
 *   children (cutime+cstime: pg_ctl, psql, pgbackrest it ran and waited for) and for any
 *   descendant alive at a sample; RSS from /proc/<pid>/status at the end, its peak (VmHWM), its
 *   anonymous and file-backed parts (the latter: pages of the node binary, shared by every node
 *   process) and PSS (/proc/<pid>/smaps_rollup: shared pages divided among their users);
 * - per PostgreSQL node: transactions per second (pg_stat_database xact_commit + xact_rollback
 *   deltas over all databases, minus the bench's own statements), rows written per second,
 *   WAL bytes per second, connections held by application_name (pg_stat_activity, max over
 *   the samples) and the CPU of the backends that serve pgvigil's connections (by their pid);
 * - per Redis server: commands per second (INFO commandstats deltas, minus the bench's own
 *   INFO calls) and the CPU of redis-server.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Redis } from 'ioredis';
import pg from 'pg';

import { localDown, localUp } from '../src/local/cluster.js';
import { localSecrets, type LocalState, superuserConnection } from '../src/local/state.js';
import { CLOCK_TICKS, rssMb } from './lib.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BENCH_APP = 'pgvigil-bench-idle';

interface ProcTimes {
  self: number;
  children: number;
  ppid: number;
}

function procTimes(pid: number): ProcTimes | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      self: Number(f[11]) + Number(f[12]),
      children: Number(f[13]) + Number(f[14]),
    };
  } catch {
    return null;
  }
}

/** A `/proc/<pid>/<file>` field in kB, as MB (VmHWM: peak RSS; RssAnon/RssFile; Pss). */
function procMb(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  const line = readFileSync(`/proc/${pid}/${file}`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** Descendants of `root` alive now (pid -> ticks used so far). */
function descendants(root: number): Map<number, number> {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const t = procTimes(Number(e));
    if (!t) continue;
    parent.set(Number(e), t.ppid);
    ticks.set(Number(e), t.self + t.children);
  }
  const out = new Map<number, number>();
  for (const [pid] of parent) {
    let p = parent.get(pid);
    while (p !== undefined && p > 1) {
      if (p === root) {
        out.set(pid, ticks.get(pid) ?? 0);
        break;
      }
      p = parent.get(p);
    }
  }
  return out;
}

interface Watched {
  name: string;
  kind: 'sentinel' | 'agent';
  pid: number;
  before: ProcTimes;
  /** descendants seen alive: first and last ticks */
  desc: Map<number, { first: number; last: number }>;
}

interface PgSnap {
  xacts: number;
  written: number;
  walBytes: number;
  /** backend pid -> application_name, for pgvigil's sessions */
  backends: Map<number, string>;
  conns: Map<string, number>;
}

const PG_SNAP_SQL = `
SELECT (SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database)::bigint AS xacts,
       (SELECT sum(tup_inserted + tup_updated + tup_deleted) FROM pg_stat_database)::bigint AS written,
       (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END
          - '0/0')::bigint AS wal,
       (SELECT coalesce(json_agg(json_build_object('pid', pid, 'app', application_name,
                                                   'type', backend_type)), '[]')
          FROM pg_stat_activity WHERE pid <> pg_backend_pid()) AS activity`;

async function pgSnap(c: pg.Client): Promise<PgSnap> {
  const r = await c.query<{
    xacts: string;
    written: string;
    wal: string;
    activity: { pid: number; app: string; type: string }[];
  }>(PG_SNAP_SQL);
  const row = r.rows[0]!;
  const backends = new Map<number, string>();
  const conns = new Map<string, number>();
  for (const a of row.activity) {
    if (a.type !== 'client backend' && a.type !== 'walsender') continue;
    const app = a.type === 'walsender' ? `walsender (${a.app})` : a.app || '(none)';
    conns.set(app, (conns.get(app) ?? 0) + 1);
    if (a.type === 'client backend') backends.set(a.pid, app);
  }
  return {
    xacts: Number(row.xacts),
    written: Number(row.written),
    walBytes: Number(row.wal),
    backends,
    conns,
  };
}

async function redisCalls(r: Redis): Promise<number> {
  const info = await r.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
}

const pct = (ticks: number, seconds: number) => (ticks / CLOCK_TICKS / seconds) * 100;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '20' },
      nodes: { type: 'string', default: '2' },
      redis: { type: 'string', default: '3' },
      'no-backups': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const backups = !values['no-backups'];
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-idle-'));
  const state: LocalState = await localUp({
    dir,
    apiPort: 0,
    nodes: Number(values.nodes),
    redis: Number(values.redis),
    backups,
    progress: () => undefined,
  });
  const secrets = localSecrets(state);
  const clients: pg.Client[] = [];
  const redises: Redis[] = [];
  try {
    for (const n of state.nodes) {
      const c = new pg.Client({
        ...superuserConnection(state, n, secrets),
        application_name: BENCH_APP,
        connectionTimeoutMillis: 5000,
      });
      c.on('error', () => undefined);
      await c.connect();
      clients.push(c);
    }
    for (const s of state.redisServers) {
      const r = new Redis(s.url, { password: secrets.redisPassword, lazyConnect: true });
      r.on('error', () => undefined);
      await r.connect();
      redises.push(r);
    }
    await sleep(warmup * 1000);

    const watched: Watched[] = [
      ...state.sentinels.map((s) => ({
        name: `sentinel ${s.id}`,
        kind: 'sentinel' as const,
        pid: s.pid,
      })),
      ...(state.agents ?? []).map((a) => ({
        name: `agent ${a.node}`,
        kind: 'agent' as const,
        pid: a.pid,
      })),
    ].map((p) => ({ ...p, before: procTimes(p.pid)!, desc: new Map() }));
    const redisBefore = state.redisServers.map((s) => procTimes(s.pid)!.self);
    const callsBefore = await Promise.all(redises.map(redisCalls));
    const pgBefore = await Promise.all(clients.map(pgSnap));
    const backendBefore = pgBefore.map(
      (s) => new Map([...s.backends.keys()].map((pid) => [pid, procTimes(pid)?.self ?? 0])),
    );
    const maxConns = pgBefore.map((s) => new Map(s.conns));
    let snaps = 1; // bench statements per node so far (inside the window)
    let infos = 1;
    const t0 = Date.now();
    for (let k = 1; Date.now() - t0 < seconds * 1000; k++) {
      await sleep(Math.min(1000, seconds * 1000 - (Date.now() - t0)));
      for (const w of watched) {
        for (const [pid, ticks] of descendants(w.pid)) {
          const d = w.desc.get(pid);
          if (d) d.last = ticks;
          else w.desc.set(pid, { first: ticks, last: ticks });
        }
      }
      if (k % 5 === 0) {
        const mid = await Promise.all(clients.map(pgSnap));
        snaps++;
        mid.forEach((s, i) => {
          for (const [app, n] of s.conns)
            maxConns[i]!.set(app, Math.max(n, maxConns[i]!.get(app) ?? 0));
        });
      }
    }
    const elapsed = (Date.now() - t0) / 1000;
    const after = watched.map((w) => procTimes(w.pid)!);
    const pgAfter = await Promise.all(clients.map(pgSnap));
    snaps++;
    const callsAfter = await Promise.all(redises.map(redisCalls));
    infos++;
    const redisAfter = state.redisServers.map((s) => procTimes(s.pid)!.self);

    const procs = watched.map((w, i) => {
      let descTicks = 0;
      for (const d of w.desc.values()) descTicks += d.last - d.first;
      return {
        name: w.name,
        kind: w.kind,
        cpuPct: pct(after[i]!.self - w.before.self, elapsed),
        childrenPct: pct(after[i]!.children - w.before.children + descTicks, elapsed),
        childrenSeen: w.desc.size,
        rssMb: rssMb(w.pid),
        peakRssMb: procMb(w.pid, 'status', 'VmHWM'),
        // RssFile: pages of the node binary and libraries, shared by every node process
        anonMb: procMb(w.pid, 'status', 'RssAnon'),
        fileMb: procMb(w.pid, 'status', 'RssFile'),
        pssMb: procMb(w.pid, 'smaps_rollup', 'Pss'),
      };
    });
    const nodes = state.nodes.map((n, i) => {
      const b = pgBefore[i]!;
      const a = pgAfter[i]!;
      let backendTicks = 0;
      for (const [pid, ticks] of backendBefore[i]!) {
        const now = procTimes(pid);
        if (now && a.backends.has(pid)) backendTicks += now.self - ticks;
      }
      return {
        node: n.name,
        role: i === 0 ? 'primary' : 'standby',
        // every bench snapshot is one transaction on this node
        xactsPerSec: (a.xacts - b.xacts - (snaps - 1)) / elapsed,
        rowsWrittenPerSec: (a.written - b.written) / elapsed,
        walBytesPerSec: (a.walBytes - b.walBytes) / elapsed,
        connections: Object.fromEntries(
          [...maxConns[i]!].filter(([app]) => app !== BENCH_APP).sort(),
        ),
        backendCpuPct: pct(backendTicks, elapsed),
      };
    });
    const redis = state.redisServers.map((s, i) => ({
      name: s.name,
      // each INFO the bench sends is one call
      commandsPerSec: (callsAfter[i]! - callsBefore[i]! - (infos - 1)) / elapsed,
      cpuPct: pct(redisAfter[i]! - redisBefore[i]!, elapsed),
    }));
    const report = {
      seconds: elapsed,
      warmup,
      nodes: state.nodes.length,
      redis: state.redisServers.length,
      backups,
      procs,
      postgres: nodes,
      redisServers: redis,
    };

    console.log(
      `pgvigil idle bench: ${elapsed.toFixed(0)} s after a ${warmup} s warm-up; ${state.nodes.length} nodes with agents, ${state.sentinels.length} sentinels, ${state.redisServers.length} Redis, backups ${backups ? 'on' : 'off'}, default timings`,
    );
    for (const p of procs) {
      const target = p.kind === 'sentinel' ? 0.5 : 0.3;
      const ok = p.cpuPct <= target && p.rssMb <= 60;
      console.log(
        `  ${p.name.padEnd(12)} cpu ${p.cpuPct.toFixed(2).padStart(5)} % of a core (children ${p.childrenPct.toFixed(2)} %, ${p.childrenSeen} seen)   rss ${p.rssMb.toFixed(0).padStart(3)} MB (peak ${p.peakRssMb.toFixed(0)}; anon ${p.anonMb.toFixed(0)} + file ${p.fileMb.toFixed(0)}; pss ${p.pssMb.toFixed(0)})   (target <= ${target} %, <= 60 MB: ${ok ? 'PASS' : 'MISS'})`,
      );
    }
    for (const n of nodes) {
      const conns = Object.entries(n.connections)
        .map(([app, k]) => `${app} ${k}`)
        .join(', ');
      console.log(
        `  ${n.node} (${n.role}): ${n.xactsPerSec.toFixed(1)} transactions/s, ${n.rowsWrittenPerSec.toFixed(1)} rows written/s, ${(n.walBytesPerSec / 1024).toFixed(1)} kB WAL/s, backends of pgvigil ${n.backendCpuPct.toFixed(2)} % of a core; connections: ${conns}`,
      );
    }
    for (const r of redis)
      console.log(
        `  ${r.name}: ${r.commandsPerSec.toFixed(1)} commands/s, redis-server ${r.cpuPct.toFixed(2)} % of a core`,
      );
    if (values.json) console.log(JSON.stringify(report));
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    redises.forEach((r) => r.disconnect());
    await localDown({ dir, quiet: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:idle failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
