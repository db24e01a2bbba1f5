/**
 * Rejoin this node as a standby of the current primary (rule 5), escalating only as needed:
 *
 *   restart     the node was a standby: standby settings, start, stream;
 *   rewind      it may hold WAL the new primary never had: pg_rewind from the primary (a
 *               rewind that finds nothing to do counts as a restart);
 *   basebackup  the rewind failed, or the node still does not stream: the data directory is
 *               moved aside (`<dataDir>.old-<stamp>`, kept unless agent.keepOldDataDirs is
 *               false) and a fresh pg_basebackup is taken from the primary.
 *
 * pg_rewind and pg_basebackup copy the source's configuration files: ours are saved before
 * and put back after, then the node-local standby settings are rewritten
 * (notes/pg15-failover.md). The slot is created on the primary before the node starts.
 */
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Logger } from '../adapters/logging/logger.js';
import { Session, type SessionParams } from '../adapters/postgres/session.js';
import {
  type LocalPostgres,
  moveAside,
  pgBasebackup,
  pgRewind,
  restoreConfigFiles,
  saveConfigFiles,
} from '../adapters/process/index.js';
import type { ClusterConfig } from '../config/types.js';
import { PostgresCommandFailed } from '../core/errors.js';
import type { NodeSpec } from '../core/model.js';
import type { NodeControl } from '../ports/postgres.js';

export type RejoinMethod = 'restart' | 'rewind' | 'basebackup';

export interface RejoinDeps {
  local: LocalPostgres;
  pg: NodeControl;
  cluster: ClusterConfig;
  self: NodeSpec;
  /** session parameters of the local superuser connection (host/port of this node) */
  session: SessionParams;
  keepOldDataDirs: boolean;
  log: Logger;
  nowWall: () => number;
  /** how long a started standby may take to stream before the next method is tried */
  streamingWaitMs: number;
}

export interface RejoinPlan {
  primary: NodeSpec;
  epoch: number;
  /** postgres runs (a demoted primary, already fenced by the caller): stop it first */
  running: boolean;
  rewind: boolean;
}

/** The primary cannot be a source yet (still in recovery): retry later, do not escalate. */
class SourceNotReady extends PostgresCommandFailed {}

const NEXT: Record<RejoinMethod, RejoinMethod | null> = {
  restart: 'rewind',
  rewind: 'basebackup',
  basebackup: null,
};

export async function rejoin(d: RejoinDeps, plan: RejoinPlan): Promise<RejoinMethod> {
  const { local, pg, log } = d;
  const ctx = { primary: plan.primary.name }; // the logger carries cluster, node and epoch
  if (plan.running) await local.stop('fast'); // the caller fenced a running primary first
  await local.clearOrphans();
  let method: RejoinMethod = plan.rewind ? 'rewind' : 'restart';
  for (;;) {
    log.info({ ...ctx, method }, `rejoin: trying ${method}`);
    let reported = method;
    try {
      reported = await prepare(d, plan, method);
    } catch (err) {
      const next: RejoinMethod | null = NEXT[method];
      if (next === null || method === 'restart' || err instanceof SourceNotReady) throw err;
      log.warn(
        { ...ctx, method, err: (err as Error).message },
        `rejoin: ${method} failed, trying ${next}`,
      );
      method = next;
      continue;
    }
    await pg.ensureSlot(plan.primary, d.self.name);
    await local.start();
    if (await waitStreaming(d.session, plan.primary, d.streamingWaitMs)) return reported;
    const next: RejoinMethod | null = NEXT[method];
    if (next === null)
      throw new PostgresCommandFailed(
        `${d.self.name} does not stream from ${plan.primary.name} within ${d.streamingWaitMs} ms even after a fresh base backup`,
      );
    log.warn({ ...ctx, method }, `rejoin: not streaming after ${method}, trying ${next}`);
    await local.stop('fast');
    method = next;
  }
}

/** Data directory ready to start as a standby; returns the method to report. */
async function prepare(
  d: RejoinDeps,
  plan: RejoinPlan,
  method: RejoinMethod,
): Promise<RejoinMethod> {
  const { local, cluster } = d;
  const repl = { user: cluster.replication.user, password: cluster.replication.password };
  let reported = method;
  if (method === 'rewind') {
    await assertPrimary(d, plan.primary);
    const saved = saveConfigFiles(local.dataDir);
    const out = await pgRewind({
      dataDir: local.dataDir,
      source: {
        host: plan.primary.host,
        port: plan.primary.port,
        user: cluster.user,
        password: cluster.password,
        database: cluster.database,
      },
      runAs: local.runAs,
    });
    restoreConfigFiles(local.dataDir, saved, local.runAs);
    if (/no rewind required/i.test(out)) reported = 'restart';
    d.log.info({ out }, 'pg_rewind done');
  } else if (method === 'basebackup') {
    await assertPrimary(d, plan.primary);
    const saved = existsSync(local.dataDir)
      ? saveConfigFiles(local.dataDir)
      : new Map<string, string>();
    await d.pg.ensureSlot(plan.primary, d.self.name);
    const stamp = new Date(d.nowWall()).toISOString().replace(/[:.]/g, '-');
    const aside = existsSync(local.dataDir) ? moveAside(local.dataDir, stamp) : null;
    if (aside) d.log.warn({ aside }, 'old data directory moved aside');
    await pgBasebackup({
      dataDir: local.dataDir,
      primary: plan.primary,
      user: repl.user,
      password: repl.password,
      slot: d.self.name,
      runAs: local.runAs,
    });
    restoreConfigFiles(local.dataDir, saved, local.runAs);
    if (aside && !d.keepOldDataDirs) rmSync(aside, { recursive: true, force: true });
  }
  local.configureStandby(plan.primary, repl);
  return reported;
}

async function withSession<T>(p: SessionParams, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await Session.open(p);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Never rewind from (or copy) a node that is not a writable primary yet. */
async function assertPrimary(d: RejoinDeps, primary: NodeSpec): Promise<void> {
  const p = { ...d.session, host: primary.host, port: primary.port };
  const inRecovery = await withSession(p, async (s) => {
    const [rs] = await s.query('SELECT pg_is_in_recovery() AS r');
    return rs!.rows[0]?.r as boolean;
  });
  if (inRecovery)
    throw new SourceNotReady(
      `${primary.name} is still in recovery: not a source to rejoin from yet`,
    );
}

/** Until the local WAL receiver streams from `primary` (false after `ms`). */
async function waitStreaming(p: SessionParams, primary: NodeSpec, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await withSession(p, async (s) => {
      const [rs] = await s.query('SELECT status, sender_port FROM pg_stat_wal_receiver');
      const r = rs!.rows[0] as { status?: string; sender_port?: number } | undefined;
      return r?.status === 'streaming' && r.sender_port === primary.port;
    }).catch(() => false);
    if (ok) return true;
    await sleep(100);
  }
  return false;
}
