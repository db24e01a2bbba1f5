/**
 * The NodeProcess port (src/ports/node-process.ts) for the agent: LocalPostgres (pg_ctl,
 * pg_controldata, standby files) plus pg_rewind and pg_basebackup, with the credentials they
 * need. pg_rewind and pg_basebackup copy the source's configuration files over ours
 * (notes/pg15-failover.md), so ours are saved before and put back after.
 */
import { existsSync, rmSync } from 'node:fs';

import type { NodeSpec } from '../../core/spec.js';
import type { PgTls } from '../../core/tls.js';
import type { ControlData, NodeProcess, ProcessState } from '../../ports/node-process.js';
import { restoreConfigFiles, saveConfigFiles } from './config-files.js';
import type { LocalPostgres } from './local-postgres.js';
import { moveAside, pgBasebackup, pgRewind } from './rewind.js';

export interface NodeCredentials {
  /** the superuser pg_rewind connects as */
  superuser: { user: string; password: string; database: string; tls?: PgTls | undefined };
  /** the replication role of base backups and primary_conninfo */
  replication: { user: string; password: string; tls?: PgTls | undefined };
}

export class AgentNodeProcess implements NodeProcess {
  readonly #local: LocalPostgres;
  readonly #creds: NodeCredentials;

  constructor(local: LocalPostgres, creds: NodeCredentials) {
    this.#local = local;
    this.#creds = creds;
  }

  get dataDir(): string {
    return this.#local.dataDir;
  }

  state(): ProcessState {
    return this.#local.state();
  }

  clearOrphans(): Promise<void> {
    return this.#local.clearOrphans();
  }

  start(): Promise<number> {
    return this.#local.start();
  }

  stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    return this.#local.stop(mode);
  }

  controlData(): Promise<ControlData> {
    return this.#local.controlData();
  }

  configureStandby(primary: NodeSpec): void {
    this.#local.configureStandby(primary, this.#creds.replication);
  }

  async rewind(primary: NodeSpec): Promise<{ output: string; changed: boolean }> {
    const local = this.#local;
    const saved = saveConfigFiles(local.dataDir);
    const output = await pgRewind({
      dataDir: local.dataDir,
      source: { host: primary.host, port: primary.port, ...this.#creds.superuser },
      runAs: local.runAs,
    });
    restoreConfigFiles(local.dataDir, saved, local.runAs);
    return { output, changed: !/no rewind required/i.test(output) };
  }

  async baseBackup(
    primary: NodeSpec,
    o: { slot: string; stamp: string; keepOld: boolean; onMovedAside?: (aside: string) => void },
  ): Promise<{ aside: string | null }> {
    const local = this.#local;
    const saved = existsSync(local.dataDir)
      ? saveConfigFiles(local.dataDir)
      : new Map<string, string>();
    const aside = existsSync(local.dataDir) ? moveAside(local.dataDir, o.stamp) : null;
    if (aside) o.onMovedAside?.(aside);
    await pgBasebackup({
      dataDir: local.dataDir,
      primary,
      user: this.#creds.replication.user,
      password: this.#creds.replication.password,
      tls: this.#creds.replication.tls,
      slot: o.slot,
      runAs: local.runAs,
    });
    restoreConfigFiles(local.dataDir, saved, local.runAs);
    if (aside && !o.keepOld) rmSync(aside, { recursive: true, force: true });
    return { aside };
  }
}
