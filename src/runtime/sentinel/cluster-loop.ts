/**
 * One sentinel's loop for one cluster. Each tick runs named steps, in order:
 *
 * observe:    probe every node (persistent connections) and judge each one's health; probes run
 *             on their own (as Redis Sentinel's): a tick starts one per node with none in
 *             flight and waits for them at most one probe interval, so a hung node delays
 *             neither the other nodes' probes nor the judgement of its own silence;
 * coordinate: read topology, votes and pause from a Redis majority and take or extend the
 *             leader lock (in parallel with observe); bootstrap epoch 1 on a new cluster;
 * decide:     core `decide()` on that snapshot (pure);
 * publish:    our vote and presence (throttled), the decision's events, the metrics;
 * lead:       the leader's housekeeping: its verdict for the agents, roll an interrupted
 *             failover forward, fence stray primaries, keep the synchronous standby;
 * act:        run the failover the decision asks for, or the operator's pending intent.
 *
 * The topology is owned here and changes only through `#adopt` (the highest epoch wins). The
 * tick returns what it decided and what it did. Ticks are jittered (+-10%) so sentinels do not
 * vote in lockstep.
 */
import { decide, type Decision } from '../../core/decide.js';
import {
  judge,
  newNodeHealth,
  type NodeHealth,
  type NodeObservation,
  recordProbe,
  transitionEvent,
} from '../../core/health.js';
import { heldEvent } from '../../core/held.js';
import type {
  PauseState,
  ProbeResult,
  SentinelPresence,
  Topology,
  Vote,
} from '../../core/model.js';
import { INITIAL_TILT, markTickEnd, tickTilt, type TiltState } from '../../core/tilt.js';
import { countDownVotes, type NodeViewDetail, nodeViews, presenceView } from '../../core/views.js';
import { LoopTimer } from '../loop-timer.js';
import { bootstrapTopology } from './bootstrap.js';
import { Coordinator } from './coordinator.js';
import type { ClusterLoopDeps } from './deps.js';
import { FailoverExecutor } from './failover-executor.js';
import { IntentRunner } from './intents.js';
import { isInterrupted, isUnpromoted, settleInterruptedFailover } from './recovery.js';
import { highestStamp, reseedTopology } from './reseed.js';
import { SlotKeeper } from './slots.js';
import { EpochStamps } from './stamps.js';
import { StrayPrimaryFencer } from './stray-primaries.js';
import { SyncStandbyManager } from './sync-standby.js';
import { Throttle } from './throttle.js';
import { VerdictPublisher } from './verdict.js';

export interface ClusterView {
  cluster: string;
  sentinel: string;
  coordination: 'majority' | 'no-majority' | 'unknown';
  coordinationError: string | null;
  topology: Topology | null;
  paused: PauseState;
  leader: boolean;
  tilt: boolean;
  decision: { kind: string; reason: string; evidence: string } | null;
  votes: Vote[];
  nodes: Record<string, NodeViewDetail>;
  lastTickWall: number | null;
}

/** What one tick did besides deciding, in order. */
export type TickStep =
  | { step: 'bootstrapped'; epoch: number }
  | { step: 'settled-interrupted'; epoch: number }
  | { step: 'fenced-stray'; nodes: string[] }
  | { step: 'sync-recorded'; epoch: number }
  /**
   * completed: published `ok`; degraded: published, promotion not confirmed; unpublished: the
   * machine ended but its topology never reached a majority (another sentinel's epoch won)
   */
  | {
      step: 'failover';
      outcome: 'completed' | 'degraded' | 'unpublished' | 'aborted';
      epoch: number | null;
    }
  | { step: 'intent'; epoch: number };

export interface TickOutcome {
  decision: Decision;
  did: TickStep[];
  /** the topology epoch after the tick (null: none yet) */
  epoch: number | null;
}

/** the probe wait ends this long after the next tick is due (`#probeAll`) */
const WAIT_SLACK_MS = 5;

export class ClusterLoop {
  readonly #d: ClusterLoopDeps;
  readonly #executor: FailoverExecutor;
  readonly #intents: IntentRunner;
  /** sync mode: keeps the synchronous standby (a no-op in async mode or when not `ok`) */
  readonly #sync: SyncStandbyManager;
  readonly #strays: StrayPrimaryFencer;
  readonly #slots: SlotKeeper | null;
  readonly #throttle: Throttle;
  readonly #verdict: VerdictPublisher;
  readonly #timer: LoopTimer;
  /** beats for TILT while no tick beats (`#beat`); armed only while the loop runs */
  #guard: NodeJS.Timeout | undefined;
  #running = false;
  /** this tick's period: when the next tick is due after its start (jittered, drawn per tick) */
  #periodMs: number;
  #health = new Map<string, NodeHealth>();
  /** probes still running, by node (at most one per node) */
  readonly #inFlight = new Map<string, Promise<void>>();
  #observations: Record<string, NodeObservation> = {};
  #tilt: TiltState = INITIAL_TILT;
  #topology: Topology | null = null;
  /** the last majority read found no topology at all (servers that came back empty?) */
  #storeEmpty = false;
  readonly #coord: Coordinator;
  #leader = false;
  /** TILT, or the hold after regaining the Redis majority: observe, do not act */
  #observeOnly = false;
  /** this tick's view of every node (status, presence, metrics), computed once per tick */
  #views: ClusterView['nodes'] = {};
  #decision: Decision | null = null;
  #lastTickMono: number | null = null;
  #lastTickWall: number | null = null;

  constructor(loopDeps: ClusterLoopDeps) {
    const deps = { ...loopDeps, stamps: loopDeps.stamps ?? new EpochStamps(loopDeps) };
    this.#d = deps;
    this.#periodMs = deps.timing.probeIntervalMs;
    for (const n of deps.cluster.nodes) this.#health.set(n.name, newNodeHealth(n.name));
    this.#executor = new FailoverExecutor(deps);
    this.#intents = new IntentRunner(deps);
    this.#sync = new SyncStandbyManager(deps);
    this.#strays = new StrayPrimaryFencer(deps);
    this.#slots = deps.slots ? new SlotKeeper({ ...deps, slots: deps.slots }) : null;
    this.#throttle = new Throttle(deps.clock);
    this.#coord = new Coordinator(deps, this.#throttle);
    this.#verdict = new VerdictPublisher(deps, this.#throttle);
    this.#timer = new LoopTimer({
      clock: deps.clock,
      tick: () => this.tick(),
      nextDelayMs: (elapsed) => this.#periodMs - elapsed,
      onError: (err) =>
        deps.log.error({ cluster: this.name, err }, 'tick failed (bug): loop goes on'),
    });
  }

  get name(): string {
    return this.#d.cluster.name;
  }

  /** Monotonic time of the last completed tick (health: the loop made progress). */
  get lastTickMono(): number | null {
    return this.#lastTickMono;
  }

  /** Start ticking; the first tick after `firstTickDelayMs` (Sentinel.start staggers its loops). */
  start(firstTickDelayMs = 0): void {
    this.#timer.start(firstTickDelayMs);
    this.#running = true;
    this.#armGuard();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#guard);
    this.#guard = undefined;
    await this.#timer.stop();
    await Promise.all(this.#inFlight.values()); // bounded by the probe timeouts
    if (this.#leader) await this.#d.store.releaseLead(this.name).catch(() => undefined);
  }

  /** One tick: observe + coordinate -> decide -> publish -> lead -> act. Public for tests. */
  async tick(): Promise<TickOutcome> {
    this.#enterTick();
    const primary = this.#topology?.primary ?? this.#d.cluster.initialPrimary;
    const [, coordinated] = await Promise.all([this.#probeAll(primary), this.#coordinate()]);
    this.#observe();
    const probes = this.#latestProbes();
    // paused while we waited (the guard may not have run yet after a SIGCONT)?
    if (this.#beat()) this.#observeOnly = true;
    const did: TickStep[] = [];
    if (coordinated && (this.#topology === null || this.#storeEmpty)) {
      // servers that came back empty under a live cluster are re-seeded, never bootstrapped
      const fresh = this.#topology === null && highestStamp(probes) === 0;
      const t = fresh
        ? await bootstrapTopology(this.#d, probes)
        : await reseedTopology(this.#d, probes, this.#topology);
      if (this.#adopt(t)) did.push({ step: 'bootstrapped', epoch: t.epoch });
    }
    const decision = this.#decide(coordinated);
    await this.#publish(decision);
    if (this.#leader && this.#topology) did.push(...(await this.#lead(decision, coordinated)));
    did.push(...(await this.#act(decision)));
    this.#lastTickMono = this.#d.clock.mono();
    this.#lastTickWall = this.#d.clock.wall();
    return { decision, did, epoch: this.#topology?.epoch ?? null };
  }

  /** The one place the topology changes: a newer (or same) epoch replaces the one we hold. */
  #adopt(t: Topology | null): t is Topology {
    if (t === null || (this.#topology !== null && t.epoch < this.#topology.epoch)) return false;
    this.#topology = t;
    return true;
  }

  // ---- observe ------------------------------------------------------------------------

  #enterTick(): void {
    this.#periodMs = this.#d.timing.probeIntervalMs * (0.9 + Math.random() * 0.2);
    this.#observeOnly = this.#beat();
  }

  /**
   * TILT: a gap between two beats far over the interval means this process was paused. A beat
   * comes at the start of every tick, before every decision and from a guard timer of its own
   * (`#armGuard`), so the gap measures the process, not our own awaited I/O: a tick waiting up
   * to connect + query timeouts on a hung primary is not a pause, and must not hold off that
   * primary's failover by `tiltMs`. True while TILT lasts.
   */
  #beat(): boolean {
    this.#armGuard();
    const tilt = tickTilt(this.#tilt, this.#d.clock.mono(), this.#d.timing);
    this.#tilt = tilt.state;
    if (tilt.entered)
      this.#d.log.warn(
        { cluster: this.name, epoch: this.#topology?.epoch, evidence: tilt.evidence },
        'entering TILT: observing only',
      );
    return tilt.tilt;
  }

  /**
   * The guard beats when no tick has beaten for `min(tiltGapMs / 4, 1.5 x probeIntervalMs)`:
   * inside a tick that waits on a hung node, never between ticks at the default timings
   * (the next tick is due at most 1.1 intervals after a beat). A free-running pulse beat as
   * often as the ticks and woke an idle sentinel a second time per tick (`bench:idle`); the
   * guard is re-armed on every beat instead, and a cleared timer due after the next tick
   * costs no wake-up (see `#probeAll`).
   */
  #armGuard(): void {
    clearTimeout(this.#guard);
    if (!this.#running) return;
    const { probeIntervalMs, tiltGapMs } = this.#d.timing;
    // not unref'd: Node keeps the timer list of an unref'd timer after clearTimeout, with the
    // old due time, and that list woke the process once per tick for nothing (stop() clears it)
    this.#guard = setTimeout(() => this.#beat(), Math.min(tiltGapMs / 4, 1.5 * probeIntervalMs));
  }

  /**
   * Start a probe of every node that has none in flight; each result is folded into its
   * node's health as soon as it arrives. Waits until every probe in flight has answered, or
   * this tick's period (one probe interval, jittered) is over, whichever comes first: a hung
   * node's probe goes on in the background (bounded by connect + query timeouts) while the loop
   * keeps judging it by its silence. The wait's timer is due a little after the next tick: a
   * timer cleared before it is due still wakes the process at that time when nothing earlier
   * was armed since (Node does not re-arm its one libuv timer on clearTimeout), and the next
   * tick's timer, due first, re-arms it.
   */
  async #probeAll(primary: string): Promise<void> {
    const { pg, clock, sentinelId, log } = this.#d;
    for (const n of this.#d.cluster.nodes) {
      if (this.#inFlight.has(n.name)) continue;
      const run = pg
        .probe(n, {
          nowMono: () => clock.mono(),
          sentinel: sentinelId,
          heartbeat: n.name === primary,
        })
        .then(
          (probe) => {
            const before = this.#health.get(probe.node) ?? newNodeHealth(probe.node);
            this.#health.set(probe.node, recordProbe(before, probe));
          },
          (err: unknown) =>
            log.error({ cluster: this.name, node: n.name, err }, 'probe threw (bug): no result'),
        )
        .finally(() => this.#inFlight.delete(n.name));
      this.#inFlight.set(n.name, run);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#inFlight.values()),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#periodMs + WAIT_SLACK_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** The latest probe result of every node that has one (bootstrap and re-seed read them). */
  #latestProbes(): ProbeResult[] {
    return [...this.#health.values()].flatMap((h) => (h.last ? [h.last] : []));
  }

  /** SDOWN of every node from all its probe results so far; `node-down` / `node-up` on a change. */
  #observe(): void {
    const nowMono = this.#d.clock.mono();
    const epoch = this.#topology?.epoch ?? 0;
    for (const n of this.#d.cluster.nodes) {
      const j = judge(this.#health.get(n.name) ?? newNodeHealth(n.name), nowMono, this.#d.timing);
      this.#health.set(n.name, j.health);
      this.#observations[n.name] = j.observation;
      const event = transitionEvent(this.name, epoch, this.#d.sentinelId, j);
      if (event) void this.#d.bus.emit(event);
    }
  }

  // ---- coordinate ---------------------------------------------------------------------

  /** Coordination reads and the leader lock, in parallel; false (never act) without a majority. */
  async #coordinate(): Promise<boolean> {
    const primary = this.#topology?.primary;
    const failingHere = primary !== undefined && this.#observations[primary]?.last?.ok === false;
    const hasTopology = this.#topology !== null && !this.#storeEmpty;
    if (!this.#coord.refreshDue({ leader: this.#leader, failingHere, hasTopology })) {
      if (this.#d.clock.mono() < this.#coord.holdUntilMono) this.#observeOnly = true;
      return true; // a follower between refreshes: the last read had a majority
    }
    const [read, leader] = await Promise.all([
      this.#coord.read({ votesNeeded: failingHere, epoch: this.#topology?.epoch }),
      this.#coord.lead(),
    ]);
    const coordinated = read !== false;
    this.#storeEmpty = read === null;
    if (read) this.#adopt(read);
    this.#leader = leader && coordinated;
    if (this.#d.clock.mono() < this.#coord.holdUntilMono) this.#observeOnly = true;
    return coordinated;
  }

  // ---- decide -------------------------------------------------------------------------

  #decide(coordinated: boolean): Decision {
    const { cluster, timing, clock, sentinelId } = this.#d;
    const decision = decide({
      cluster,
      timing,
      sentinelId,
      nowMono: clock.mono(),
      nowWall: clock.wall(),
      topology: this.#topology,
      coordination: coordinated ? 'majority' : 'no-majority',
      paused: this.#coord.paused.paused,
      tilt: this.#observeOnly,
      leader: this.#leader,
      health: this.#observations,
      votes: this.#coord.votes,
      peers: this.#d.peers ?? [],
      ...(this.#d.unsafeSkipRule2 ? { unsafeSkipRule2: true } : {}),
    });
    this.#logDecisionChange(decision);
    const held = this.#leader ? heldEvent(this.name, sentinelId, decision, this.#decision) : null;
    if (held) void this.#d.bus.emit(held);
    this.#decision = decision;
    this.#views = nodeViews(cluster.nodes, this.#topology, this.#observations);
    return decision;
  }

  #logDecisionChange(decision: Decision): void {
    const prev = this.#decision;
    if (prev && prev.kind === decision.kind && prev.reason === decision.reason) return;
    const level = decision.kind === 'observe' ? 'debug' : 'info';
    this.#d.log[level](
      {
        cluster: this.name,
        epoch: decision.epoch ?? this.#topology?.epoch,
        decision: decision.kind,
        reason: decision.reason,
        evidence: decision.evidence,
      },
      `decision ${decision.kind}: ${decision.reason}`,
    );
  }

  // ---- publish ------------------------------------------------------------------------

  /** Vote and presence (rewritten only on change or after a third of their TTL), events, metrics. */
  async #publish(decision: Decision): Promise<void> {
    const { store, timing } = this.#d;
    const presence = this.#presence();
    const vote = decision.vote;
    const voteKey = vote ? `${vote.epoch}:${vote.primary}:${vote.down}` : '';
    const presenceKey = `${presence.leader}:${presence.tilt}`;
    await Promise.all([
      vote && this.#throttle.due('vote', voteKey, timing.voteTtlMs / 3)
        ? store.publishVote(this.name, vote, timing.voteTtlMs)
        : undefined,
      this.#throttle.due('presence', presenceKey, Math.min(1000, timing.presenceTtlMs / 3))
        ? store.publishPresence(this.name, presence, timing.presenceTtlMs)
        : undefined,
    ]);
    if (vote) this.#coord.recordOwnVote(vote);
    for (const e of decision.events) void this.#d.bus.emit(e);
    this.#d.metrics.clusterTick({
      cluster: this.name,
      views: this.#views,
      leader: this.#leader,
      downVotes: decision.odown?.count ?? countDownVotes(this.#coord.votes, this.#topology),
      epoch: this.#topology?.epoch ?? null,
      fenced: this.#topology?.fenced ?? [],
      tilt: this.#observeOnly,
    });
  }

  #presence(): SentinelPresence {
    return {
      id: this.#d.sentinelId,
      api: this.#d.apiUrl,
      leader: this.#leader,
      atWall: this.#d.clock.wall(),
      tilt: this.#observeOnly,
      version: this.#d.version,
      view: presenceView(this.#views),
      ...(this.#leader && this.#slots ? { slots: this.#slots.slots } : {}),
    };
  }

  // ---- lead ---------------------------------------------------------------------------

  /** The leader's housekeeping around the decision. */
  async #lead(decision: Decision, coordinated: boolean): Promise<TickStep[]> {
    const did: TickStep[] = [];
    const { clock } = this.#d;
    if (coordinated && this.#topology) {
      await this.#verdict.publish(this.#topology, decision);
      if (
        isInterrupted(this.#topology, clock.wall(), this.#d.timing) ||
        isUnpromoted(this.#topology, this.#observations, clock.wall(), this.#d.timing)
      ) {
        const settled = await settleInterruptedFailover(
          this.#d,
          this.#topology,
          this.#observations,
        );
        if (this.#adopt(settled)) did.push({ step: 'settled-interrupted', epoch: settled.epoch });
      }
    }
    if (this.#observeOnly || !this.#topology) return did;
    const fenced = await this.#strays.fence(this.#topology, this.#observations);
    if (fenced.length > 0) did.push({ step: 'fenced-stray', nodes: fenced });
    if (coordinated) await this.#d.stamps?.retry(this.#topology);
    // bounded work (connect and query timeouts), not a pause: a slow connect must not TILT us
    const slotsFrom = clock.mono();
    await this.#slots?.tick(this.#topology, this.#observations);
    if (clock.mono() - slotsFrom > this.#d.timing.probeIntervalMs)
      this.#tilt = markTickEnd(this.#tilt, clock.mono());
    if (coordinated && decision.kind !== 'failover') {
      const synced = await this.#sync.reconcile({
        topology: this.#topology,
        observations: this.#observations,
      });
      if (this.#adopt(synced)) did.push({ step: 'sync-recorded', epoch: synced.epoch });
    }
    return did;
  }

  // ---- act ----------------------------------------------------------------------------

  /** The failover decided now, or else (leader, acting) the operator's pending intent. */
  async #act(decision: Decision): Promise<TickStep[]> {
    const { clock, timing } = this.#d;
    const did: TickStep[] = [];
    let boundedWork = false;
    if (decision.kind === 'failover' && this.#topology) {
      const after = await this.#executor.run(this.#topology, decision, this.#observations);
      this.#adopt(after);
      did.push({ step: 'failover', outcome: failoverOutcome(after), epoch: after?.epoch ?? null });
      boundedWork = true;
    } else if (this.#leader && this.#topology && !this.#observeOnly) {
      // operator intents (switchover, failback, manual failover) recorded by any sentinel's API
      const before = clock.mono();
      const t = await this.#intents.poll({
        topology: this.#topology,
        observations: this.#observations,
      });
      if (this.#adopt(t)) did.push({ step: 'intent', epoch: t.epoch });
      boundedWork = clock.mono() - before > timing.probeIntervalMs;
    }
    // A failover or switchover that ran inside this tick is our own bounded work (with its own
    // deadlines and epoch checks), not a pause of the process: measure the next TILT gap from
    // its end, or the leader would enter TILT after every long operation. (Ordinary ticks keep
    // measuring start to start, so a sentinel stopped mid-tick still enters TILT.)
    if (boundedWork) this.#tilt = markTickEnd(this.#tilt, clock.mono());
    return did;
  }

  view(): ClusterView {
    const d = this.#decision;
    return {
      cluster: this.name,
      sentinel: this.#d.sentinelId,
      coordination: this.#coord.state,
      coordinationError: this.#coord.error,
      topology: this.#topology,
      paused: this.#coord.paused,
      leader: this.#leader,
      tilt: this.#observeOnly,
      decision: d ? { kind: d.kind, reason: d.reason, evidence: d.evidence } : null,
      votes: this.#coord.votes,
      nodes: this.#views,
      lastTickWall: this.#lastTickWall,
    };
  }
}

function failoverOutcome(
  after: Topology | null,
): Extract<TickStep, { step: 'failover' }>['outcome'] {
  if (after === null) return 'aborted';
  if (after.state === 'ok') return 'completed';
  return after.state === 'degraded' ? 'degraded' : 'unpublished';
}
