/**
 * Where the PostgreSQL server binaries are, and how to run one of them.
 *
 * Binaries: `pg_config --bindir` when it points at a directory holding `postgres` (on Debian
 * pg_config may come from libpq-dev of another major), else the highest
 * /usr/lib/postgresql/<major>/bin: only that path is guaranteed by the apt packages.
 *
 * Every program runs as the identity it is given (run-as.ts), never through a shell.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { UserError } from '../../core/errors.js';
import { nsExec } from './netns-exec.js';
import type { RunAs } from './run-as.js';

export interface PgBinaries {
  bindir: string;
  /** full version, e.g. "15.18" */
  version: string;
  major: number;
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

/** The version of the `postgres` binary in `bindir` (`postgres --version`). */
function describe(bindir: string): PgBinaries {
  const out = execFileSync(join(bindir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const version = /(\d+(?:\.\d+)?)/.exec(out)?.[1] ?? '0';
  return { bindir, version, major: Number.parseInt(version, 10) };
}

/** The server binaries of this host (searched once, then cached; see the header). */
export function findPgBinaries(): PgBinaries {
  if (cached) return cached;
  const bindir = fromPgConfig() ?? fromDebianLayout();
  if (!bindir)
    throw new UserError('PostgreSQL server binaries not found: apt-get install -y postgresql');
  cached = describe(bindir);
  return cached;
}

/** Use the binaries in `bindir` (config `agent.pgBinDir`) instead of searching for them. */
export function usePgBinDir(bindir: string): PgBinaries {
  if (!existsSync(join(bindir, 'postgres')))
    throw new UserError(`agent.pgBinDir ${bindir} holds no \`postgres\` binary: fix the path`);
  cached = describe(bindir);
  return cached;
}

/** Absolute path of a PostgreSQL program (initdb, pg_ctl, pg_basebackup, ...). */
export function pgBin(program: string): string {
  return join(findPgBinaries().bindir, program);
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
    /** run inside this network namespace (`local up --netns`; needs root) */
    netns?: string | undefined;
  },
): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  if (opts.runAs) env.HOME = opts.runAs.home;
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const inNs = opts.netns ? nsExec(opts.netns, pgBin(program), args, opts.runAs) : null;
    const child = spawn(inNs?.cmd ?? pgBin(program), inNs?.args ?? args, {
      cwd: opts.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.runAs && !inNs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
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
