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
import type { AgentControl, AgentTarget } from '../adapters/http/agent-client.js';
import { formatMs } from '../core/format.js';
import type { Topology } from '../core/model.js';
import {
  replayedPast,
  restoredTopology,
  switchedTopology,
  switchingTopology,
  type SwitchoverPlan,
} from '../core/switchover.js';
import type { ClusterLoopDeps } from './cluster-loop.js';
import { nodeSpec } from './cluster-loop.js';

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

class Abort extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REPLAY_POLL_MS = 20;
/** a rollback waits this long at least for the old primary to accept connections again */
const MIN_RESTART_MS = 30_000;

/** Extends the leader lock while a long operation runs inside one tick. */
class LeaseKeeper {
  lost = false;
  readonly #timer: NodeJS.Timeout;

  constructor(deps: ClusterLoopDeps) {
    const ttl = deps.config.timing.lockTtlMs;
    this.#timer = setInterval(
      () =>
        void deps.store
          .tryLead(deps.cluster.name, ttl)
          .then((ok) => {
            if (!ok) this.lost = true;
          })
          .catch(() => {
            this.lost = true;
          }),
      Math.max(50, Math.floor(ttl / 3)),
    );
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export class SwitchoverExecutor {
  readonly #d: ClusterLoopDeps;
  readonly #agents: AgentControl;

  constructor(deps: ClusterLoopDeps, agents: AgentControl) {
    this.#d = deps;
    this.#agents = agents;
  }

  #spec(name: string) {
    const n = this.#d.cluster.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`node ${name} is not in cluster ${this.#d.cluster.name}`);
    return nodeSpec(n);
  }

  #agent(name: string): AgentTarget {
    const url = this.#d.cluster.nodes.find((x) => x.name === name)?.agent?.url;
    if (!url) throw new Abort('no-agent', `${name} has no agent (nodes[].agent.url)`);
    return { name, url };
  }

  async #stillOurs(epoch: number): Promise<boolean> {
    try {
      const t = await this.#d.store.readTopology(this.#d.cluster.name);
      return t.value?.epoch === epoch && t.value.committedBy === this.#d.sentinelId;
    } catch {
      return false;
    }
  }

  async run(
    prev: Topology,
    plan: SwitchoverPlan,
    opts: { op: SwitchoverOp; requestedBy: string },
  ): Promise<SwitchoverResult> {
    const { store, clock, bus, log, sentinelId, config } = this.#d;
    const cluster = this.#d.cluster.name;
    const { from, to } = plan;
    const started = clock.mono();
    const result = (
      ok: boolean,
      code: number,
      message: string,
      topology: Topology | null,
      epoch: number,
    ): SwitchoverResult => ({
      ok,
      code,
      message,
      topology,
      epoch,
      from,
      to,
      durationMs: Math.round(clock.mono() - started),
    });

    const next = switchingTopology(
      prev,
      to,
      clock.wall(),
      sentinelId,
      `${opts.op} requested by ${opts.requestedBy}`,
    );
    let cas;
    try {
      cas = await store.casTopology(cluster, prev.epoch, next, sentinelId);
    } catch (err) {
      return result(
        false,
        503,
        `no coordination majority: ${(err as Error).message}`,
        null,
        prev.epoch,
      );
    }
    if (!cas.committed)
      return result(
        false,
        409,
        `the topology changed meanwhile (epoch ${cas.seenEpoch} > ${prev.epoch}): retry`,
        null,
        prev.epoch,
      );
    const epoch = next.epoch;
    log.warn(
      { cluster, epoch, from, to, op: opts.op, by: opts.requestedBy },
      `${opts.op} starting`,
    );
    await bus.emit({ type: 'topology-changed', cluster, epoch, topology: next });
    await bus.emit({ type: 'switchover-started', cluster, epoch, from, to });

    const lease = new LeaseKeeper(this.#d);
    let stopAttempted = false;
    try {
      // 2. clean stop of the old primary
      const agent = this.#agent(from);
      stopAttempted = true;
      const stop = await this.#agents
        .stop(agent, epoch, config.timing.switchoverTimeoutMs)
        .catch((err: Error) => {
          throw new Abort('stop-failed', err.message);
        });
      log.info(
        { cluster, epoch, node: from, checkpoint: stop.checkpointLsnText },
        'old primary stopped cleanly',
      );
      // 3. the target replays past the final checkpoint
      await this.#waitReplay(to, stop.checkpointLsn, stop.checkpointLsnText, from, lease);
      // 4. fence check, promote
      if (lease.lost) throw new Abort('lost-leadership', 'this sentinel lost the leader lock');
      if (!(await this.#stillOurs(epoch)))
        throw new Abort('epoch-superseded', `epoch ${epoch} is no longer ours`);
      await this.#promote(to, epoch);
    } catch (err) {
      lease.stop();
      if (!(err instanceof Abort)) throw err;
      return this.#rollback(next, to, err, stopAttempted, opts.op, result);
    }
    lease.stop();

    // 5. forward only from here
    const problems = await this.#repoint(from, to, epoch);
    const final = switchedTopology(
      next,
      to,
      clock.wall(),
      `${opts.op} ${from} -> ${to} requested by ${opts.requestedBy}${problems.length ? `; ${problems.join('; ')}` : ''}`,
    );
    const published = await this.#publish(final);
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
    await bus.emit({ type: 'switchover-completed', cluster, epoch, from, to, durationMs });
    this.#d.metrics.failovers.inc({ cluster, kind: opts.op === 'failover' ? 'manual' : opts.op });
    log.warn({ cluster, epoch, from, to, durationMs, problems }, `${opts.op} completed`);
    return result(true, 200, `${from} -> ${to}`, final, epoch);
  }

  async #waitReplay(
    to: string,
    checkpointLsn: number,
    checkpointText: string,
    from: string,
    lease: LeaseKeeper,
  ): Promise<void> {
    const { pg, clock, config, sentinelId } = this.#d;
    const spec = this.#spec(to);
    const limit = config.timing.switchoverTimeoutMs;
    const deadline = clock.mono() + limit;
    let seen: number | undefined;
    for (;;) {
      if (lease.lost) throw new Abort('lost-leadership', 'this sentinel lost the leader lock');
      const p = await pg.probe(spec, {
        nowMono: () => clock.mono(),
        sentinel: sentinelId,
        heartbeat: false,
      });
      if (p.ok && p.role !== 'standby')
        throw new Abort(
          'target-not-standby',
          `${to} answers as ${p.role ?? 'unknown'} before promotion`,
        );
      if (p.ok) seen = p.replayedLsn;
      if (replayedPast(seen, checkpointLsn)) return;
      if (clock.mono() >= deadline)
        throw new Abort(
          'target-not-caught-up',
          `${to} did not replay ${from}'s final checkpoint ${checkpointText} within ${formatMs(limit)} (replayed ${seen ?? 'unknown'} < ${checkpointLsn})`,
        );
      await sleep(REPLAY_POLL_MS);
    }
  }

  async #promote(to: string, epoch: number): Promise<void> {
    const { pg, config, log, clock, sentinelId } = this.#d;
    const spec = this.#spec(to);
    try {
      await pg.promote(spec, config.timing.promoteTimeoutMs);
    } catch (err) {
      // Did it promote anyway (the answer was lost)? Then there is no going back.
      const p = await pg.probe(spec, {
        nowMono: () => clock.mono(),
        sentinel: sentinelId,
        heartbeat: false,
      });
      if (!(p.ok && p.role === 'primary'))
        throw new Abort('promote-failed', `promoting ${to} failed: ${(err as Error).message}`);
    }
    await pg
      .stampEpoch(spec, epoch, to)
      .catch((err: Error) =>
        log.warn(
          { cluster: this.#d.cluster.name, epoch, node: to, err: err.message },
          'epoch stamp failed',
        ),
      );
  }

  /** Slots for every other node on the new primary (the old one rejoins with its own), then re-point. */
  async #repoint(from: string, to: string, epoch: number): Promise<string[]> {
    const { pg } = this.#d;
    const primary = this.#spec(to);
    const others = this.#d.cluster.nodes.map((n) => n.name).filter((n) => n !== to);
    const ours = await this.#stillOurs(epoch);
    const problems = await Promise.all(
      others.map(async (name): Promise<string | null> => {
        try {
          await pg.ensureSlot(primary, name);
          if (name === from) return null; // stopped: its agent rejoins it
          if (!ours) return `${name} not re-pointed: epoch ${epoch} superseded`;
          await pg.repoint(this.#spec(name), primary, name);
          return null;
        } catch (err) {
          return `${name}: ${(err as Error).message}`;
        }
      }),
    );
    return problems.filter((p): p is string => p !== null);
  }

  async #publish(t: Topology): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await this.#d.store
        .updateTopology(t.cluster, t, this.#d.sentinelId)
        .catch(() => null);
      if (res?.committed) return true;
      if (res && !res.committed && res.seenEpoch > t.epoch) return false;
      await sleep(200);
    }
    return false;
  }

  async #rollback(
    next: Topology,
    to: string,
    abort: Abort,
    stopAttempted: boolean,
    op: SwitchoverOp,
    result: (
      ok: boolean,
      code: number,
      message: string,
      t: Topology | null,
      epoch: number,
    ) => SwitchoverResult,
  ): Promise<SwitchoverResult> {
    const { bus, log, clock, pg, config } = this.#d;
    const cluster = next.cluster;
    const { epoch, primary: from } = next;
    log.warn(
      { cluster, epoch, from, reason: abort.reason, detail: abort.message },
      `${op} aborting: rolling back`,
    );
    let restarted = true;
    let restartError = '';
    if (stopAttempted) {
      try {
        await this.#agents.start(
          this.#agent(from),
          epoch,
          Math.max(MIN_RESTART_MS, config.timing.switchoverTimeoutMs),
        );
      } catch (err) {
        restartError = (err as Error).message;
      }
      const p = await pg.probe(this.#spec(from), {
        nowMono: () => clock.mono(),
        sentinel: this.#d.sentinelId,
        heartbeat: false,
      });
      restarted = p.ok && p.role === 'primary';
      if (restarted) await pg.stampEpoch(this.#spec(from), epoch, from).catch(() => undefined);
    }
    const restored = restoredTopology(
      next,
      clock.wall(),
      `${op} to ${to} aborted: ${abort.reason}`,
    );
    const published = await this.#publish(restored);
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
