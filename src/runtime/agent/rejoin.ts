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
 * The process adapter keeps this node's configuration files across pg_rewind and
 * pg_basebackup (both copy the source's); the node-local standby settings are then rewritten
 * (notes/pg15-failover.md). The slot is created on the primary before the node starts.
 */
import { PostgresCommandFailed } from '../../core/errors.js';
import type { NodeSpec } from '../../core/spec.js';
import { pollUntil } from '../deadline.js';
import type { RejoinDeps } from './deps.js';

export type RejoinMethod = 'restart' | 'rewind' | 'basebackup';

export interface RejoinPlan {
  primary: NodeSpec;
  epoch: number;
  /** postgres runs (a demoted primary, already fenced by the caller): stop it first */
  running: boolean;
  /**
   * The caller's fence did not take (postgres does not answer: frozen, hung): stop it with
   * `immediate`, which SIGKILLs a SIGSTOPped instance without waking it (pg-ctl.ts), where
   * `fast` would continue it and let its sessions commit for a few milliseconds.
   */
  unfenced?: boolean;
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
  const { process: local, pg, log } = d;
  const ctx = { primary: plan.primary.name }; // the logger carries cluster, node and epoch
  // the caller fenced a running primary first (or says it could not)
  if (plan.running) await local.stop(plan.unfenced ? 'immediate' : 'fast');
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
    if (await waitStreaming(d, plan.primary)) return reported;
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
  let reported = method;
  if (method === 'rewind') {
    await assertPrimary(d, plan.primary);
    const out = await d.process.rewind(plan.primary);
    if (!out.changed) reported = 'restart';
    d.log.info({ out: out.output }, 'pg_rewind done');
  } else if (method === 'basebackup') {
    await assertPrimary(d, plan.primary);
    await d.pg.ensureSlot(plan.primary, d.self.name);
    const stamp = new Date(d.clock.wall()).toISOString().replace(/[:.]/g, '-');
    await d.process.baseBackup(plan.primary, {
      slot: d.self.name,
      stamp,
      keepOld: d.keepOldDataDirs,
      onMovedAside: (aside) => d.log.warn({ aside }, 'old data directory moved aside'),
    });
  }
  d.process.configureStandby(plan.primary);
  return reported;
}

/** Never rewind from (or copy) a node that is not a writable primary yet. */
async function assertPrimary(d: RejoinDeps, primary: NodeSpec): Promise<void> {
  if (await d.observer.inRecovery(primary))
    throw new SourceNotReady(
      `${primary.name} is still in recovery: not a source to rejoin from yet`,
    );
}

/** Until the local WAL receiver streams from `primary` (false after streamingWaitMs). */
async function waitStreaming(d: RejoinDeps, primary: NodeSpec): Promise<boolean> {
  const streaming = await pollUntil(
    { clock: d.clock, timeoutMs: d.streamingWaitMs, intervalMs: 100 },
    async () => ((await d.observer.streamsFrom(primary)) ? true : undefined),
  );
  return streaming ?? false;
}
