/** Helpers shared by the bench scripts. */
import { readFileSync } from 'node:fs';

import pg from 'pg';

import {
  type LocalNodeState,
  localSecrets,
  type LocalState,
  superuserConnection,
} from '../src/local/state.js';

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Clock ticks per second of /proc/<pid>/stat times (sysconf(_SC_CLK_TCK) on Linux). */
export const CLOCK_TICKS = 100;

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** `fn` on a fresh superuser connection to `node` (password from the cluster's secrets file). */
export async function onNode<T>(
  state: LocalState,
  node: LocalNodeState,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const conn = superuserConnection(state, node, localSecrets(state));
  const c = new pg.Client({ ...conn, connectionTimeoutMillis: 2000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}
