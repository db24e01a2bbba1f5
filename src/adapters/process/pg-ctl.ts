/**
 * `pg_ctl start` and `pg_ctl stop` of one data directory, as the directory's owner. Used by
 * the agent (LocalPostgres) and by the embedded cluster of `local up`.
 */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { UserError } from '../../core/errors.js';
import { lastLines, runPg } from './binaries.js';
import { readPostmasterPid, removeStaleLocks } from './postmaster.js';
import { isLive, nodeProcesses, procState, signalPids } from './procfs.js';
import { own, ownerOf } from './run-as.js';

/** Where startNode looks for another server on the node's port. */
const LOOPBACK = '127.0.0.1';
const START_TIMEOUT_S = 30;

/** What pg_ctl start needs; the log goes to `<name>.log` beside the data directory by default. */
export interface StartTarget {
  name: string;
  dataDir: string;
  port: number;
  logFile?: string;
  /** start it inside this network namespace (`local up --netns`) */
  netns?: string | undefined;
}

/** What stop needs: `pid` is the postmaster last known, for when postmaster.pid is gone. */
export interface StopTarget {
  name: string;
  dataDir: string;
  pid: number;
}

/** True when something accepts (or silently holds) a TCP connection on `host:port`. */
export async function portAnswers(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.setTimeout(1000);
    const done = (v: boolean) => () => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', done(true));
    s.once('timeout', done(true));
    s.once('error', done(false));
  });
}

/**
 * `pg_ctl start -w`: resolves with the postmaster PID once it accepts connections. Refuses
 * when the port is taken; removes the lock files of a crashed predecessor first.
 */
export async function startNode(node: StartTarget): Promise<number> {
  if (await portAnswers(node.port)) {
    throw new UserError(
      `port ${node.port} on ${LOOPBACK} is already in use: stop what listens there or give ${node.name} another port`,
    );
  }
  removeStaleLocks(node.dataDir);
  const logFile = node.logFile ?? join(dirname(node.dataDir), `${node.name}.log`);
  const runAs = ownerOf(node.dataDir);
  if (!existsSync(logFile)) closeSync(openSync(logFile, 'a', 0o640));
  own(logFile, runAs);
  const args = ['start', '-w', '-t', String(START_TIMEOUT_S), '-D', node.dataDir, '-l', logFile];
  const r = await runPg('pg_ctl', args, {
    runAs,
    cwd: dirname(node.dataDir),
    timeoutMs: (START_TIMEOUT_S + 5) * 1000,
    netns: node.netns,
  });
  const pid = readPostmasterPid(node.dataDir);
  if (r.code !== 0 || pid === null) {
    const log = existsSync(logFile)
      ? lastLines(readFileSync(logFile, 'utf8'))
      : lastLines(r.output);
    throw new UserError(`postgres ${node.name} did not start: ${log} (see ${logFile})`);
  }
  return pid;
}

/**
 * Stop cleanly (`pg_ctl stop -m mode`); when that fails (hung, already half dead) SIGKILL
 * every process of the node.
 *
 * A node frozen by SIGSTOP (a paused VM, a debugger, `local kill --signal STOP`): `fast` and
 * `smart` continue it first, so it can shut down cleanly. `immediate` is the fence (the lease
 * watchdog, a demotion that must not wait) and must not wake it: a continued backend runs what
 * waits in its socket, a continued postmaster accepts the connections queued in its backlog,
 * and they commit and acknowledge in the milliseconds before pg_ctl's SIGQUIT reaches them,
 * while another node is already the primary (the fault runner found 2-27 ms of such writes:
 * seed 1, `stop-primary`). SIGKILL ends a stopped process without running it, and leaves what
 * `-m immediate` leaves: a data directory that needs crash recovery.
 */
export async function stopNode(
  node: StopTarget,
  mode: 'smart' | 'fast' | 'immediate' = 'fast',
): Promise<void> {
  if (!existsSync(node.dataDir)) return;
  const pid = readPostmasterPid(node.dataDir) ?? node.pid;
  const procs = nodeProcesses(node.dataDir, pid);
  if (mode === 'immediate' && procs.some((p) => procState(p) === 'T')) {
    await killAll(node, pid);
    return;
  }
  signalPids(procs, 'SIGCONT');
  // a crashed postmaster may linger as a zombie: pg_ctl would wait for it in vain
  if (readPostmasterPid(node.dataDir) !== null && isLive(pid)) {
    const args = ['stop', '-w', '-t', '15', '-m', mode, '-D', node.dataDir];
    const r = await runPg('pg_ctl', args, {
      runAs: ownerOf(node.dataDir),
      cwd: dirname(node.dataDir),
      timeoutMs: 20_000,
    });
    if (r.code === 0) return;
  }
  await killAll(node, pid);
}

/** SIGKILL every process of the node until none is left. */
async function killAll(node: StopTarget, pid: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const left = nodeProcesses(node.dataDir, pid);
    if (left.length === 0) return;
    signalPids(left, 'SIGKILL');
    await sleep(100);
  }
  throw new UserError(
    `could not stop ${node.name}: processes ${nodeProcesses(node.dataDir, pid).join(', ')} survive SIGKILL`,
  );
}
