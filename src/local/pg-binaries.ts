/**
 * Where the PostgreSQL server binaries are, and which OS user runs them.
 *
 * Binaries: `pg_config --bindir` when it points at a directory holding `postgres` (on Debian
 * pg_config may come from libpq-dev of another major), else the highest
 * /usr/lib/postgresql/<major>/bin: only that path is guaranteed by the apt packages.
 *
 * OS user: postgres refuses to run as root, so as root every server-side command runs as the
 * `postgres` user; otherwise as the current user.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

import { UserError } from '../core/errors.js';

export interface PgBinaries {
  bindir: string;
  /** full version, e.g. "15.18" */
  version: string;
  major: number;
}

/** An OS identity for spawn's uid/gid options. */
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

const DEBIAN_ROOT = '/usr/lib/postgresql';
let cached: PgBinaries | undefined;

function fromPgConfig(): string | undefined {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return existsSync(join(dir, 'postgres')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

function fromDebianLayout(): string | undefined {
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const majors = readdirSync(DEBIAN_ROOT)
    .filter((d) => /^\d+$/.test(d) && existsSync(join(DEBIAN_ROOT, d, 'bin', 'postgres')))
    .map(Number)
    .sort((a, b) => b - a);
  return majors.length > 0 ? join(DEBIAN_ROOT, String(majors[0]), 'bin') : undefined;
}

export function findPgBinaries(): PgBinaries {
  if (cached) return cached;
  const bindir = fromPgConfig() ?? fromDebianLayout();
  if (!bindir)
    throw new UserError('PostgreSQL server binaries not found: apt-get install -y postgresql');
  const out = execFileSync(join(bindir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const version = /(\d+(?:\.\d+)?)/.exec(out)?.[1] ?? '0';
  cached = { bindir, version, major: Number.parseInt(version, 10) };
  return cached;
}

/** Use the binaries in `bindir` (config `agent.pgBinDir`) instead of searching for them. */
export function usePgBinDir(bindir: string): PgBinaries {
  if (!existsSync(join(bindir, 'postgres')))
    throw new UserError(`agent.pgBinDir ${bindir} holds no \`postgres\` binary: fix the path`);
  const out = execFileSync(join(bindir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const version = /(\d+(?:\.\d+)?)/.exec(out)?.[1] ?? '0';
  cached = { bindir, version, major: Number.parseInt(version, 10) };
  return cached;
}

/** Absolute path of a PostgreSQL program (initdb, pg_ctl, pg_basebackup, ...). */
export function pgBin(program: string): string {
  return join(findPgBinaries().bindir, program);
}

/** `postgres` when we are root, undefined (= ourselves) otherwise. */
export function defaultRunAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return lookupUser('postgres');
}

/** getent-style lookup of an OS user. */
export function lookupUser(user: string): RunAs {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim();
  } catch {
    throw new UserError(
      `OS user ${user} not found: apt-get install -y postgresql creates it (or useradd -r ${user})`,
    );
  }
  const [, , uid, gid, , home] = line.split(':');
  return { user, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
}

export interface RunResult {
  code: number | null;
  /** stdout and stderr interleaved, last 16 KiB */
  output: string;
}

/** Last `n` non-empty lines of a program's output, on one line (for one-line errors). */
export function lastLines(output: string, n = 3): string {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
}

/**
 * Run a PostgreSQL program as `runAs` (uid/gid), never through a shell. PG* variables of our
 * own environment are dropped so they cannot redirect the program; secrets go in `env`.
 */
export function runPg(
  program: string,
  args: string[],
  opts: {
    runAs?: RunAs | undefined;
    cwd: string;
    env?: Record<string, string>;
    timeoutMs?: number;
  },
): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  if (opts.runAs) env.HOME = opts.runAs.home;
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(pgBin(program), args, {
      cwd: opts.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
    });
    let output = '';
    const take = (b: Buffer): void => {
      output = (output + b.toString('utf8')).slice(-16_384);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new UserError(`${program} could not start: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

interface ProcInfo {
  pid: number;
  ppid: number;
  /** R, S, D, T (stopped), Z (zombie), ... */
  state: string;
  comm: string;
  cwd: string | undefined;
}

function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state = '?', ppidText] = stat.slice(close + 2).split(' ');
      const ppid = Number(ppidText);
      let cwd: string | undefined;
      try {
        cwd = readlinkSync(`/proc/${d}/cwd`);
      } catch {
        cwd = undefined;
      }
      out.push({ pid: Number(d), ppid, state, comm, cwd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Every process of one postgres instance, postmaster first: its descendants (by /proc ppid),
 * plus orphaned `postgres` processes still working in the data directory (children of a
 * SIGKILLed postmaster are re-parented; stopped ones would linger forever).
 */
export function nodeProcesses(dataDir: string, postmasterPid: number | null): number[] {
  // zombies are dead already: they only wait for their parent (or init) to reap them
  const procs = listProcs().filter((p) => p.state !== 'Z' && p.state !== 'X');
  let real: string;
  try {
    real = realpathSync(dataDir);
  } catch {
    real = dataDir;
  }
  const found = new Set<number>();
  if (postmasterPid !== null && procs.some((p) => p.pid === postmasterPid)) {
    found.add(postmasterPid);
    for (let grew = true; grew;) {
      grew = false;
      for (const p of procs) {
        if (!found.has(p.pid) && found.has(p.ppid)) {
          found.add(p.pid);
          grew = true;
        }
      }
    }
  }
  for (const p of procs) if (p.comm === 'postgres' && p.cwd === real) found.add(p.pid);
  return [...found];
}

/** The /proc state letter of a process (T = stopped, Z = zombie), undefined when gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Running or sleeping, not a zombie: what pg_ctl's kill(pid, 0) cannot tell apart. */
export function isLive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
}

/** Signal each PID, ignoring those already gone. */
export function signalPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
