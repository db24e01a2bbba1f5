/**
 * The agent's hands on its own postgres: process state from postmaster.pid and /proc, start
 * and clean stop through pg_ctl (pg-ctl.ts, as the data directory's owner), and the files of
 * a standby. Everything here is about one data directory.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { ConfigError } from '../../core/errors.js';
import type { PgTls } from '../../core/tls.js';
import { conninfo } from '../postgres/sql.js';
import { libpqTlsParams } from '../postgres/tls.js';
import { type ControlData, readControlData } from './controldata.js';
import { startNode, stopNode } from './pg-ctl.js';
import { readPostmasterPid, removeStaleLocks } from './postmaster.js';
import { nodeProcesses, procState, signalPids } from './procfs.js';
import { lookupUser, type RunAs, writeOwned } from './run-as.js';
import { dropAutoConfSettings, writeNodeSettings } from './settings.js';

export interface LocalPostgresOptions {
  name: string;
  dataDir: string;
  port: number;
  /** OS user postgres runs as when we are root (config agent.runAsUser) */
  runAsUser: string;
}

export interface ProcessState {
  running: boolean;
  pid: number | null;
  standbySignal: boolean;
  /** the postmaster is stopped by a signal (/proc state T) */
  frozen: boolean;
}

/** Settings the fence writes: a rejoined standby must not carry them into a later promotion. */
const FENCE_SETTINGS = ['default_transaction_read_only'];

export class LocalPostgres {
  readonly name: string;
  readonly dataDir: string;
  readonly port: number;
  readonly runAs: RunAs | undefined;
  readonly logFile: string;

  constructor(o: LocalPostgresOptions) {
    this.name = o.name;
    this.dataDir = o.dataDir;
    this.port = o.port;
    this.logFile = join(dirname(o.dataDir), `${o.name}.log`);
    this.runAs = process.getuid?.() === 0 ? lookupUser(o.runAsUser) : undefined;
  }

  /** Refuse to start on a data directory we could not run (one line naming the fix). */
  check(): void {
    if (!existsSync(join(this.dataDir, 'PG_VERSION')))
      throw new ConfigError(
        `dataDir ${this.dataDir} of ${this.name} is not a PostgreSQL data directory`,
      );
    const owner = statSync(this.dataDir).uid;
    const want = this.runAs?.uid ?? process.getuid?.();
    if (want !== undefined && owner !== want)
      throw new ConfigError(
        `dataDir ${this.dataDir} is owned by uid ${owner}, not by ${this.runAs?.user ?? 'this user'} (agent.runAsUser): chown it or fix agent.runAsUser`,
      );
  }

  state(): ProcessState {
    const pid = readPostmasterPid(this.dataDir);
    // one read of /proc/<pid>/stat for both (isLive reads it too): the agent asks every tick
    const st = pid === null ? undefined : procState(pid);
    const running = st !== undefined && st !== 'Z' && st !== 'X';
    return {
      running,
      pid,
      standbySignal: existsSync(join(this.dataDir, 'standby.signal')),
      frozen: st === 'T',
    };
  }

  /** Children of a crashed postmaster hold its shared memory until they exit: end them. */
  async clearOrphans(): Promise<void> {
    if (this.state().running) return;
    for (let i = 0; i < 50; i++) {
      const left = nodeProcesses(this.dataDir, null);
      if (left.length === 0) break;
      signalPids(left, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
    }
    removeStaleLocks(this.dataDir);
  }

  /** pg_ctl start -w: resolves once it accepts connections; returns the postmaster PID. */
  async start(): Promise<number> {
    await this.clearOrphans();
    return startNode({
      name: this.name,
      dataDir: this.dataDir,
      port: this.port,
      logFile: this.logFile,
    });
  }

  /** pg_ctl stop -m mode -w (SIGKILL of every process when that fails: check controlData). */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    await stopNode({ name: this.name, dataDir: this.dataDir, pid: this.state().pid ?? 0 }, mode);
  }

  controlData(): Promise<ControlData> {
    return readControlData(this.dataDir, this.runAs);
  }

  /**
   * Make the (stopped) data directory a standby of `primary`: standby.signal, node-local
   * settings in postgresql.auto.conf (port, primary_conninfo with application_name = node,
   * primary_slot_name = node), and no fence left over.
   */
  configureStandby(
    primary: { host: string; port: number },
    repl: { user: string; password: string; tls?: PgTls | undefined },
  ): void {
    dropAutoConfSettings(this.dataDir, FENCE_SETTINGS, this.runAs);
    writeNodeSettings(
      this.dataDir,
      {
        port: String(this.port),
        primary_conninfo: conninfo({
          host: primary.host,
          port: primary.port,
          user: repl.user,
          password: repl.password,
          application_name: this.name,
          ...libpqTlsParams(repl.tls),
        }),
        primary_slot_name: this.name,
      },
      this.runAs,
    );
    writeOwned(join(this.dataDir, 'standby.signal'), '', this.runAs);
  }
}
