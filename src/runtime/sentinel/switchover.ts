/**
 * Runs one switchover (also failback, and a manual failover of a healthy primary) to its end,
 * rule 7: nothing acknowledged is lost.
 *
 *  1. CAS epoch e -> e+1, same primary, state `switching-over` (automatic failover holds off;
 *     the old primary's agent will accept `/stop` for this epoch only).
 *  2. `POST /stop` to the old primary's agent: a clean shutdown, whose final checkpoint LSN it
 *     returns. From here the cluster has no writable primary: every step is quick.
 *  3. Wait until the target's replay LSN is past that checkpoint, within `switchoverTimeoutMs`.
 *  4. Re-check the epoch (a lock is not a fence), promote the target, stamp the epoch.
 *     --- point of no return: before it, any failure rolls back; after it, we go forward ---
 *  5. Slots on the new primary, re-point the other standbys, publish the topology (`ok`,
 *     same epoch, primary = target). The old primary's agent rejoins it as a standby.
 * Rollback: `POST /start` to the old primary's agent, publish the old primary as `ok` at the
 * same epoch, emit switchover-aborted. The leader lock is extended all along, and losing it
 * before step 4 rolls back (another sentinel may act).
 */
import type { Topology } from '../../core/model.js';
import {
  restoredTopology,
  switchedTopology,
  switchingTopology,
  type SwitchoverPlan,
} from '../../core/switchover.js';
import type { SwitchoverDeps } from './deps.js';
import { stampEpoch } from './stamps.js';
import {
  Abort,
  agentOf,
  answersAsPrimary,
  LeaseKeeper,
  promoteTarget,
  publish,
  repointStandbys,
  specOf,
  stillOurs,
  stopPrimary,
  waitReplay,
} from './switchover-steps.js';

export type SwitchoverOp = 'switchover' | 'failback' | 'failover';

export interface SwitchoverResult {
  ok: boolean;
  /** HTTP status for the caller: 200, 409 (refused/rolled back), 503, 500 (operator needed) */
  code: number;
  message: string;
  /** the topology to use afterwards when it changed */
  topology: Topology | null;
  epoch: number;
  from: string;
  to: string;
  durationMs: number;
}

/** a rollback waits this long at least for the old primary to accept connections again */
const MIN_RESTART_MS = 30_000;
/** after the restart, how long its probe may take to answer as primary */
const RESTART_PROBE_MS = 5000;

/** Builds the run's result: the same `from`, `to` and the duration so far on every path. */
type ResultOf = (
  ok: boolean,
  code: number,
  message: string,
  topology: Topology | null,
  epoch: number,
) => SwitchoverResult;

/** What one run was asked to do. */
interface Run {
  from: string;
  to: string;
  op: SwitchoverOp;
  requestedBy: string;
  /** clock.mono() when the run began */
  started: number;
  result: ResultOf;
}

/** How far the hand-over got: what a rollback must undo. */
interface Stage {
  stopAttempted: boolean;
  handedOver: boolean;
}

export class SwitchoverExecutor {
  readonly #d: SwitchoverDeps;

  constructor(deps: SwitchoverDeps) {
    this.#d = deps;
  }

  async run(
    prev: Topology,
    plan: SwitchoverPlan,
    opts: { op: SwitchoverOp; requestedBy: string },
  ): Promise<SwitchoverResult> {
    const { clock } = this.#d;
    const { from, to } = plan;
    const started = clock.mono();
    const run: Run = {
      from,
      to,
      op: opts.op,
      requestedBy: opts.requestedBy,
      started,
      result: (ok, code, message, topology, epoch) => ({
        ok,
        code,
        message,
        topology,
        epoch,
        from,
        to,
        durationMs: Math.round(clock.mono() - started),
      }),
    };

    const begun = await this.#begin(prev, run);
    if ('refused' in begun) return begun.refused;
    const { next } = begun;

    const lease = new LeaseKeeper(this.#d);
    const stage: Stage = { stopAttempted: false, handedOver: false };
    let confirmed: boolean;
    try {
      confirmed = await this.#handOver(next, run, lease, stage);
    } catch (err) {
      lease.stop();
      if (!(err instanceof Abort)) throw err;
      return this.#rollback(next, to, err, stage, opts.op, run.result);
    }
    lease.stop();
    return this.#finish(next, run, confirmed);
  }

  /** 1. CAS epoch e -> e+1 in state `switching-over`, or refuse (503, 409). */
  async #begin(
    prev: Topology,
    run: Run,
  ): Promise<{ next: Topology } | { refused: SwitchoverResult }> {
    const { store, clock, bus, log, sentinelId } = this.#d;
    const cluster = this.#d.cluster.name;
    const { from, to, op, requestedBy, result } = run;
    const next = switchingTopology(
      prev,
      to,
      clock.wall(),
      sentinelId,
      `${op} requested by ${requestedBy}`,
    );
    let cas;
    try {
      cas = await store.casTopology(cluster, prev.epoch, next, sentinelId);
    } catch (err) {
      return {
        refused: result(
          false,
          503,
          `no coordination majority: ${(err as Error).message}`,
          null,
          prev.epoch,
        ),
      };
    }
    if (!cas.committed)
      return {
        refused: result(
          false,
          409,
          `the topology changed meanwhile (epoch ${cas.seenEpoch} > ${prev.epoch}): retry`,
          null,
          prev.epoch,
        ),
      };
    const epoch = next.epoch;
    log.warn({ cluster, epoch, from, to, op, by: requestedBy }, `${op} starting`);
    await bus.emit({ type: 'topology-changed', cluster, epoch, topology: next });
    await bus.emit({ type: 'switchover-started', cluster, epoch, from, to });
    return { next };
  }

  /**
   * 2.-4. Stop the old primary, wait for the target's replay, re-check the epoch, publish the
   * hand-over and promote; whether the promotion was confirmed. An `Abort` means roll back,
   * `stage` says from where.
   */
  async #handOver(next: Topology, run: Run, lease: LeaseKeeper, stage: Stage): Promise<boolean> {
    const { clock, bus, log } = this.#d;
    const cluster = this.#d.cluster.name;
    const { epoch } = next;
    const { from, to } = run;
    // 2. clean stop of the old primary
    const agent = agentOf(this.#d, from);
    stage.stopAttempted = true;
    const stop = await stopPrimary(this.#d, agent, epoch);
    log.info(
      { cluster, epoch, node: from, checkpoint: stop.checkpointLsnText },
      'old primary stopped cleanly',
    );
    // 3. the target replays past the final checkpoint
    await waitReplay(this.#d, { from, to, stop, lease });
    // 4. fence check, hand-over, promote
    if (lease.lost) throw new Abort('lost-leadership', 'this sentinel lost the leader lock');
    if (!(await stillOurs(this.#d, epoch)))
      throw new Abort('epoch-superseded', `epoch ${epoch} is no longer ours`);
    const handover = switchedTopology(
      next,
      to,
      clock.wall(),
      `${why(run)}: replay verified, promoting`,
      'switching-over',
    );
    stage.handedOver = true;
    if (!(await publish(this.#d, handover)))
      throw new Abort('epoch-superseded', `epoch ${epoch} is no longer ours (hand-over)`);
    await bus.emit({ type: 'topology-changed', cluster, epoch, topology: handover });
    return promoteTarget(this.#d, to, epoch);
  }

  /** 5. Forward only: re-point the standbys, publish the final topology, events and metrics. */
  async #finish(next: Topology, run: Run, confirmed: boolean): Promise<SwitchoverResult> {
    const { clock, bus, log } = this.#d;
    const cluster = this.#d.cluster.name;
    const { epoch } = next;
    const { from, to, op, started, result } = run;
    const problems = await repointStandbys(this.#d, from, to, epoch);
    if (!confirmed) problems.unshift(`promotion of ${to} not confirmed`);
    const final = switchedTopology(
      next,
      to,
      clock.wall(),
      `${why(run)}${problems.length ? `; ${problems.join('; ')}` : ''}`,
      confirmed ? 'ok' : 'degraded',
    );
    const published = await publish(this.#d, final);
    if (!published)
      return result(
        false,
        500,
        `${to} was promoted (epoch ${epoch}) but the topology could not be published: check pgvigil status`,
        null,
        epoch,
      );
    const durationMs = Math.round(clock.mono() - started);
    await bus.emit({ type: 'topology-changed', cluster, epoch, topology: final });
    if (!confirmed)
      return result(
        false,
        500,
        `${to} was told to promote but does not answer as a primary: topology epoch ${epoch} is degraded (pgvigil status)`,
        final,
        epoch,
      );
    await bus.emit({ type: 'switchover-completed', cluster, epoch, from, to, durationMs });
    this.#d.metrics.failover(cluster, op === 'failback' ? 'failback' : 'switchover');
    log.warn({ cluster, epoch, from, to, durationMs, problems }, `${op} completed`);
    return result(true, 200, `${from} -> ${to}`, final, epoch);
  }

  async #rollback(
    next: Topology,
    to: string,
    abort: Abort,
    stage: Stage,
    op: SwitchoverOp,
    result: ResultOf,
  ): Promise<SwitchoverResult> {
    const { bus, log, clock, timing } = this.#d;
    const cluster = next.cluster;
    const { epoch, primary: from } = next;
    log.warn(
      { cluster, epoch, from, reason: abort.reason, detail: abort.message },
      `${op} aborting: rolling back`,
    );
    const reason = `${op} to ${to} aborted: ${abort.reason}`;
    // The agent restarts only the primary the topology names: take the hand-over back first.
    if (stage.handedOver)
      await publish(this.#d, restoredTopology(next, clock.wall(), reason, 'switching-over'));
    let restarted = true;
    let restartError = '';
    if (stage.stopAttempted) {
      try {
        await this.#d.agents.start(
          agentOf(this.#d, from),
          epoch,
          Math.max(MIN_RESTART_MS, timing.switchoverTimeoutMs),
        );
      } catch (err) {
        restartError = (err as Error).message;
      }
      restarted = await answersAsPrimary(this.#d, from, RESTART_PROBE_MS);
      if (restarted) await stampEpoch(this.#d, specOf(this.#d, from), epoch, from);
    }
    const restored = restoredTopology(next, clock.wall(), reason);
    const published = await publish(this.#d, restored);
    if (published) await bus.emit({ type: 'topology-changed', cluster, epoch, topology: restored });
    await bus.emit({ type: 'switchover-aborted', cluster, epoch, reason: abort.message, from, to });
    if (op === 'failover')
      await bus.emit({ type: 'failover-aborted', cluster, epoch, reason: abort.message, from, to });
    if (restarted && published)
      return result(
        false,
        409,
        `${op} aborted, ${from} is the primary again (epoch ${epoch}): ${abort.message}`,
        restored,
        epoch,
      );
    return result(
      false,
      500,
      `${op} aborted (${abort.message}) and the rollback is incomplete: ${restarted ? '' : `${from} did not restart as primary${restartError ? ` (${restartError})` : ''}; `}${published ? '' : 'topology not republished; '}operator action needed`,
      published ? restored : null,
      epoch,
    );
  }
}

/** The reason the switched topologies carry. */
function why(run: Run): string {
  return `${run.op} ${run.from} -> ${run.to} requested by ${run.requestedBy}`;
}
