/**
 * postmaster.pid and the socket lock files: which postmaster a data directory names, and
 * removing the locks a crashed one left behind.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { isLive, nodeProcesses } from './procfs.js';

/** The postmaster PID in `dataDir`/postmaster.pid (line 1), null when there is none. */
export function readPostmasterPid(dataDir: string): number | null {
  try {
    const pid = Number.parseInt(
      readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
      10,
    );
    return Number.isFinite(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Lock files left by a crash name a PID that may still be an unreaped zombie, which postgres
 * takes for a running postmaster. When no process of the node survives (its shared memory
 * is free), remove postmaster.pid and the socket lock files it names.
 */
export function removeStaleLocks(dataDir: string): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  const stale = readPostmasterPid(dataDir);
  if (stale === null || isLive(stale) || nodeProcesses(dataDir, stale).length > 0) return;
  // postmaster.pid: 1 pid, 2 data dir, 3 start time, 4 port, 5 first socket directory
  const [, , , port, sockDir] = readFileSync(pidFile, 'utf8').split('\n');
  if (port && sockDir) {
    const lock = join(sockDir, `.s.PGSQL.${port}.lock`);
    if (existsSync(lock) && Number.parseInt(readFileSync(lock, 'utf8'), 10) === stale) {
      rmSync(lock, { force: true });
      rmSync(join(sockDir, `.s.PGSQL.${port}`), { force: true });
    }
  }
  rmSync(pidFile, { force: true });
}
