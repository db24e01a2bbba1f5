/**
 * Drives the failover state machine (core/failover/machine.ts): feeds it the results of the
 * I/O it asks for, each bounded by the state's own deadline, and publishes the events it
 * returns. Destructive actions carry the epoch they were decided under and are re-checked
 * against Redis just before they run (a lock is not a fence).
 */
import type { Decision } from '../../core/decide.js';
import { IDLE, transition } from '../../core/failover/machine.js';
import {
  deadlineMono,
  type FailoverAction,
  type FailoverInput,
  type FailoverState,
  type Now,
  type Step,
} from '../../core/failover/states.js';
import type { NodeObservation } from '../../core/health.js';
import type { Topology } from '../../core/model.js';
import { DeadlineExceeded, sleep, withDeadline } from '../deadline.js';
import { type FailoverDeps, nodeOf } from './deps.js';
import { stampEpoch } from './stamps.js';

/**
 * Promotion follows the CAS at once. When more than this passed since the CAS was sent (the
 * process was paused, Redis was slow, a wait ran in between), the epoch is read again first.
 */
export const PROMOTE_RECHECK_AFTER_MS = 100;

export interface FailoverRunOptions {
  kind?: 'automatic' | 'manual';
  /** test-only crash point (Sentinel's SIMULATE-FAILURE): stop right after this action type */
  crashAfter?: FailoverAction['type'];
}

export class FailoverExecutor {
  readonly #d: FailoverDeps;
  /** the observations the failover was decided on (who is reachable) */
  #seen: Readonly<Record<string, NodeObservation>> = {};
  /** when the last CAS was sent (monotonic): a pause during or after it counts as a wait */
  #casMono = 0;

  constructor(deps: FailoverDeps) {
    this.#d = deps;
  }

  #now(): Now {
    return { mono: this.#d.clock.mono(), wall: this.#d.clock.wall() };
  }

  /** Runs one failover to its end. Returns the topology to use afterwards (null: unchanged). */
  async run(
    topology: Topology,
    decision: Decision,
    observations: Readonly<Record<string, NodeObservation>>,
    opts: FailoverRunOptions = {},
  ): Promise<Topology | null> {
    this.#seen = observations;
    const first = this.#start(topology, decision, observations, opts);
    const state = await this.#drive(first, topology, opts);
    return state === null ? null : this.#end(state, topology.cluster, opts);
  }

  /** idle -> selecting -> committing (or aborted: no candidate). */
  #start(
    topology: Topology,
    decision: Decision,
    observations: Readonly<Record<string, NodeObservation>>,
    opts: FailoverRunOptions,
  ): Step {
    const primaryLastLsn = observations[topology.primary]?.lastOk?.currentLsn ?? null;
    const step = transition(
      IDLE,
      {
        type: 'start',
        topology,
        sentinelId: this.#d.sentinelId,
        kind: opts.kind ?? 'automatic',
        reason: decision.evidence,
        primaryLastLsn,
      },
      this.#now(),
    );
    const candidate = decision.candidate;
    const receivedLsn = candidate ? (observations[candidate]?.lastOk?.receivedLsn ?? 0) : 0;
    const chosen = transition(
      step.state,
      candidate
        ? { type: 'candidate-chosen', to: candidate, receivedLsn }
        : { type: 'no-candidate', detail: decision.evidence },
      this.#now(),
    );
    this.#d.log.warn(
      {
        cluster: topology.cluster,
        epoch: topology.epoch,
        from: topology.primary,
        to: candidate,
        evidence: decision.evidence,
      },
      'failover starting',
    );
    return chosen;
  }

  /**
   * Until done or aborted: publish the step's events, perform its actions within the state's
   * deadline, feed their results back. Null after a simulated crash.
   */
  async #drive(
    first: Step,
    topology: Topology,
    opts: FailoverRunOptions,
  ): Promise<FailoverState | null> {
    let { state, events, actions } = first;
    for (;;) {
      for (const e of events) await this.#d.bus.emit(e);
      if (state.kind === 'done' || state.kind === 'aborted') return state;
      const inputs = await this.#inputs(state, actions);
      for (const a of actions) this.#d.afterAction?.(a.type);
      if (opts.crashAfter && actions.some((a) => a.type === opts.crashAfter)) {
        this.#d.log.error(
          { cluster: topology.cluster, epoch: 'epoch' in state ? state.epoch : topology.epoch },
          `simulated crash after ${opts.crashAfter}`,
        );
        return null;
      }
      events = [];
      actions = [];
      for (const input of inputs) {
        const next = transition(state, input, this.#now());
        state = next.state;
        events.push(...next.events);
        actions.push(...next.actions);
        if (state.kind === 'done' || state.kind === 'aborted') break;
      }
    }
  }

  /** The results of `actions`, or a `timeout` when the state's deadline passes first. */
  async #inputs(
    state: FailoverState,
    actions: readonly FailoverAction[],
  ): Promise<FailoverInput[]> {
    const deadline = deadlineMono(state, this.#d.timing);
    const remaining = deadline === null ? Infinity : deadline - this.#d.clock.mono();
    let inputs: FailoverInput[];
    try {
      inputs = await withDeadline(remaining, () =>
        Promise.all(actions.map((a) => this.#perform(a, state))).then((r) => r.flat()),
      );
    } catch (err) {
      if (!(err instanceof DeadlineExceeded)) throw err;
      inputs = [{ type: 'timeout' }];
    }
    if (inputs.length === 0) {
      // The action gave no answer (e.g. a publish refused): wait out the state's deadline.
      await sleep(Math.min(Math.max(0, remaining), 1000));
      inputs = [{ type: 'timeout' }];
    }
    return inputs;
  }

  /** Log how it ended; a finished failover counts in the metrics. */
  #end(state: FailoverState, cluster: string, opts: FailoverRunOptions): Topology | null {
    const { log, metrics } = this.#d;
    if (state.kind === 'aborted') {
      log.warn(
        { cluster, epoch: state.epoch, reason: state.reason, detail: state.detail },
        'failover aborted: topology unchanged',
      );
      return null;
    }
    if (state.kind !== 'done') return null;
    metrics.failover(cluster, opts.kind ?? 'automatic', state.durationMs);
    log.warn(
      {
        cluster,
        epoch: state.epoch,
        to: state.to,
        durationMs: Math.round(state.durationMs),
        outcome: state.outcome,
        problems: state.problems,
      },
      'failover finished',
    );
    return state.topology;
  }

  #node(name: string) {
    return nodeOf(this.#d.cluster, name);
  }

  /** Is `epoch` still the newest committed epoch? Checked just before destructive steps. */
  async #stillOurs(epoch: number): Promise<boolean> {
    try {
      const t = await this.#d.store.readTopology(this.#d.cluster.name);
      return (t.value?.epoch ?? 0) === epoch && t.value?.committedBy === this.#d.sentinelId;
    } catch {
      return false;
    }
  }

  async #perform(action: FailoverAction, state: FailoverState): Promise<FailoverInput[]> {
    const { store, pg, sentinelId, log, timing } = this.#d;
    const cluster = this.#d.cluster.name;
    switch (action.type) {
      case 'cas': {
        this.#casMono = this.#d.clock.mono();
        const res = await store.casTopology(cluster, action.expectedEpoch, action.next, sentinelId);
        if (res.unreverted)
          log.error(
            { cluster, epoch: action.next.epoch, unreverted: res.unreverted },
            'lost epoch CAS not reverted on every server: the store retries it before each read',
          );
        return [
          res.committed
            ? { type: 'cas-committed' }
            : { type: 'cas-lost', seenEpoch: res.seenEpoch },
        ];
      }
      case 'promote': {
        // The CAS just made epoch `action.epoch` ours on a majority: promote at once, since
        // every millisecond counts. After any wait (a pause of this process, a wait for the
        // old primary's lease), read the epoch again first: it may have been superseded.
        const waited = this.#d.clock.mono() - this.#casMono;
        if (waited > PROMOTE_RECHECK_AFTER_MS && !(await this.#stillOurs(action.epoch))) {
          log.error(
            { cluster, epoch: action.epoch, node: action.node, waitedMs: Math.round(waited) },
            'not promoting: the epoch was superseded while this failover waited',
          );
          return [
            { type: 'promote-failed', error: `epoch ${action.epoch} superseded: not promoted` },
          ];
        }
        try {
          const node = this.#node(action.node);
          await pg.promote(node, timing.promoteTimeoutMs);
          await stampEpoch(this.#d, node, action.epoch, node.name);
          return [{ type: 'promoted' }];
        } catch (err) {
          return [{ type: 'promote-failed', error: (err as Error).message }];
        }
      }
      case 'repoint': {
        const ours = await this.#stillOurs(action.epoch);
        const primary = this.#node(action.to);
        return Promise.all(
          action.nodes.map(async (name): Promise<FailoverInput> => {
            if (!ours)
              return {
                type: 'repointed',
                node: name,
                error: `epoch ${action.epoch} superseded: not repointing`,
              };
            // An unreachable standby gets no slot: nothing would consume it, and it would hold
            // WAL on the new primary until dropped. Its agent rejoins it (and makes the slot).
            if (this.#seen[name]?.last?.ok !== true)
              return { type: 'repointed', node: name, error: 'unreachable: no slot created' };
            try {
              await pg.ensureSlot(primary, name);
              await pg.repoint(this.#node(name), primary, name);
              return { type: 'repointed', node: name };
            } catch (err) {
              return { type: 'repointed', node: name, error: (err as Error).message };
            }
          }),
        );
      }
      case 'fence': {
        if (!(await this.#stillOurs(action.epoch)))
          return [{ type: 'fence-unreachable', error: `epoch ${action.epoch} superseded` }];
        try {
          await pg.fence(this.#node(action.node));
          return [{ type: 'fenced' }];
        } catch (err) {
          return [{ type: 'fence-unreachable', error: (err as Error).message }];
        }
      }
      case 'publish-topology': {
        const res = await store
          .updateTopology(cluster, action.topology, sentinelId)
          .catch(() => null);
        return res?.committed ? [{ type: 'published' }] : [];
      }
      default: {
        const never: never = action;
        throw new Error(`unknown action ${JSON.stringify(never)} in ${state.kind}`);
      }
    }
  }
}
