/** Shared pieces of `bench:peers`: the system interface, processes, ports, the writer. */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';

import pg from 'pg';

import { CLOCK_TICKS, cpuTicks, rssMb } from '../lib.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One running cluster of a system under test (2 PostgreSQL nodes, its HA processes). */
export interface RunningCluster {
  /** PostgreSQL ports the writer may use (any order) */
  ports: number[];
  /** superuser connection parameters (no port) */
  conn: { host: string; user: string; password?: string; database: string };
  /** pids of the HA system's own processes (not the data nodes' postgres) for CPU and RSS */
  haPids(): number[];
  /** SIGKILL the primary's postmaster and its HA agent; returns what was killed */
  crash(primaryPort: number): Promise<string>;
  teardown(): Promise<void>;
}

export interface SystemUnderTest {
  system: string;
  profile: string;
  /** the timing settings, as the report prints them */
  settings: string;
  start(dir: string): Promise<RunningCluster>;
}

/** Every process started, so that SIGINT or a failure can kill whatever is left. */
const started = new Set<ChildProcess>();

const abortHooks = new Set<() => void>();

/** A synchronous last-resort cleanup (SIGINT, a crash of the harness); returns its removal. */
export function onAbort(fn: () => void): () => void {
  abortHooks.add(fn);
  return () => abortHooks.delete(fn);
}

/** Temp dirs of running trials, removed by `killAllStarted` after the kills. */
export const tempDirs = new Set<string>();

export function killAllStarted(): void {
  for (const fn of abortHooks) fn();
  for (const p of started) if (p.pid && p.exitCode === null) killTree(p.pid, 'SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

/** Spawn with output to a log file; tracked for the last-resort cleanup. */
export function launch(
  cmd: string,
  args: string[],
  log: string,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const fd = openSync(log, 'a');
  const p = spawn(cmd, args, { stdio: ['ignore', fd, fd], env, detached: true });
  started.add(p);
  p.on('exit', () => started.delete(p));
  return p;
}

/** Run to completion; reject with the output's tail on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.slice(-600)}`)),
    );
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Parent pid of every process (a /proc scan). */
function ppids(): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      m.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  return m;
}

/** `pid` and all its descendants. */
export function descendants(pid: number): number[] {
  const parent = ppids();
  const out = [pid];
  for (let i = 0; i < out.length; i++)
    for (const [p, pp] of parent) if (pp === out[i] && !out.includes(p)) out.push(p);
  return out.filter((p) => parent.has(p));
}

export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killTree(pid: number, sig: NodeJS.Signals): void {
  for (const p of descendants(pid).reverse()) {
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
}

/**
 * SIGTERM the tree's top process that is not `runuser` (the HA agent, which stops its own
 * postgres), then after `graceMs` SIGSTOP and SIGKILL whatever is left of the tree (stopped
 * first so that a supervisor cannot restart a child meanwhile).
 */
export async function stopTree(pid: number | undefined, graceMs = 5000): Promise<void> {
  if (!pid || !alive(pid)) return;
  const tree = descendants(pid);
  const main = tree.find((p) => comm(p) !== 'runuser') ?? pid;
  try {
    process.kill(main, 'SIGTERM');
  } catch {
    /* gone */
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until && tree.some(alive)) await sleep(100);
  const rest = [...new Set([...tree, ...descendants(pid)])].filter(alive);
  for (const sig of ['SIGSTOP', 'SIGKILL'] as const)
    for (const p of rest)
      try {
        process.kill(p, sig);
      } catch {
        /* gone */
      }
}

/** CPU % of one core and total RSS of `pids` over `seconds` (pids re-read at the end for RSS). */
export async function footprint(
  pids: () => number[],
  seconds: number,
): Promise<{ cpuPct: number; rssMb: number; processes: number }> {
  const first = pids();
  const before = new Map(first.map((p) => [p, safe(() => cpuTicks(p))]));
  await sleep(seconds * 1000);
  let ticks = 0;
  for (const [p, b] of before) ticks += safe(() => cpuTicks(p)) - b;
  const rss = first.reduce((s, p) => s + safe(() => rssMb(p)), 0);
  return { cpuPct: (ticks / CLOCK_TICKS / seconds) * 100, rssMb: rss, processes: first.length };
}

function safe(f: () => number): number {
  try {
    return f();
  } catch {
    return 0;
  }
}

export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** The port of the one writable node, or null. */
export async function findPrimary(c: RunningCluster): Promise<number | null> {
  for (const port of c.ports) {
    const ok = await withConn(c, port, 1000, async (db) => {
      const r = await db.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      return r.rows[0]?.r === false;
    }).catch(() => false);
    if (ok) return port;
  }
  return null;
}

export async function withConn<T>(
  c: RunningCluster,
  port: number,
  timeoutMs: number,
  fn: (db: pg.Client) => Promise<T>,
): Promise<T> {
  const db = new pg.Client({ ...c.conn, port, connectionTimeoutMillis: timeoutMs });
  db.on('error', () => undefined);
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end().catch(() => undefined);
  }
}

export interface WriterResult {
  firstAckOnNew: number | null;
  newPort: number | null;
  acked: { id: number; port: number; atMono: number }[];
  notAcked: number;
}

/**
 * The writer, the same for every system: one connection at a time on loopback; a connection is
 * used only after `pg_is_in_recovery()` said false (libpq's target_session_attrs=read-write by
 * hand, over every port in turn); `INSERT ... RETURNING inet_server_port()` every `intervalMs`.
 */
export class Writer {
  private running = true;
  private db: pg.Client | null = null;
  private dbPort = 0;
  readonly acked: { id: number; port: number; atMono: number }[] = [];
  notAcked = 0;
  crashAt: number | null = null;
  oldPort = 0;
  firstAckOnNew: { atMono: number; port: number } | null = null;
  consecutiveOnNew = 0;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly c: RunningCluster,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.db?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    for (const port of this.c.ports) {
      const db = new pg.Client({
        ...this.c.conn,
        port,
        connectionTimeoutMillis: 500,
        query_timeout: 2000,
      });
      db.on('error', () => undefined);
      try {
        await db.connect();
        const r = await db.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
        if (r.rows[0]?.r === false) {
          this.db = db;
          this.dbPort = port;
          return;
        }
      } catch {
        /* next port */
      }
      await db.end().catch(() => undefined);
    }
  }

  private async run(): Promise<void> {
    let nextId = 1;
    while (this.running) {
      const id = nextId++;
      try {
        if (!this.db) await this.connect();
        if (!this.db) throw new Error('no writable node');
        await this.db.query({ text: 'INSERT INTO bench(id) VALUES ($1)', values: [id] });
        const atMono = performance.now();
        this.acked.push({ id, port: this.dbPort, atMono });
        if (this.crashAt !== null && this.dbPort !== this.oldPort) {
          this.firstAckOnNew ??= { atMono, port: this.dbPort };
          this.consecutiveOnNew++;
        }
      } catch {
        this.notAcked++;
        this.consecutiveOnNew = 0;
        const db = this.db;
        this.db = null;
        await db?.end().catch(() => undefined);
      }
      await sleep(this.intervalMs);
    }
  }
}
