/**
 * The processes of a postgres instance, read from /proc (Linux): which exist, in which state,
 * and signalling them. pg_ctl's kill(pid, 0) cannot tell a zombie from a live postmaster, and
 * knows nothing of the orphaned children of a SIGKILLed one; these helpers do.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';

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
