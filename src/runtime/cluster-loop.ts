/**
 * One sentinel's loop for one cluster: observe -> decide -> act.
 *
 * observe: probe every node (persistent connections), read topology, votes and pause from a
 *          Redis majority, try to take or extend the leader lock, all in parallel;
 * decide:  core `decide()` on that snapshot (pure);
 * act:     publish our vote and presence, and when the decision is `failover`, run the
 *          failover state machine through the executor.
 * Ticks are jittered (+-10%) so sentinels do not vote in lockstep.
 */
import type { Logger } from '../adapters/logging/logger.js';
import type { SentinelMetrics } from '../adapters/metrics/metrics.js';
import type { ClusterConfig, Config, NodeConfig } from '../config/types.js';
import { decide, type Decision } from '../core/decide.js';
import { CoordinationUnavailable } from '../core/errors.js';
import {
  judge,
  newNodeHealth,
  type NodeHealth,
  type NodeObservation,
  recordProbe,
  transitionEvent,
} from '../core/health.js';
import type {
  NodeSpec,
  NodeView,
  PauseState,
  SentinelPresence,
  Topology,
  Vote,
} from '../core/model.js';
import { INITIAL_TILT, markTickEnd, tickTilt, type TiltState } from '../core/tilt.js';
import { countDownVotes, type NodeViewDetail, nodeViews } from '../core/views.js';
import type { CoordinationStore } from '../ports/coordination.js';
import type { PostgresPort } from '../ports/postgres.js';
import { bootstrapTopology } from './bootstrap.js';
import type { Clock } from './clock.js';
import { updateClusterMetrics } from './cluster-metrics.js';
import type { EventBus } from './events.js';
import { FailoverExecutor } from './failover-executor.js';
import { IntentRunner } from './intents.js';
import { isInterrupted, settleInterruptedFailover } from './recovery.js';
import { SyncStandbyManager } from './sync-standby.js';

export const VERSION = '0.1.0';
/** The leader rewrites its verdict every tick; a stale one (leader gone) expires. */
const VERDICT_TTL_MS = 5000;

export interface ClusterLoopDeps {
  config: Config;
  cluster: ClusterConfig;
  store: CoordinationStore;
  pg: PostgresPort;
  bus: EventBus;
  log: Logger;
  metrics: SentinelMetrics;
  clock: Clock;
  sentinelId: string;
  apiUrl: string | null;
}

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

export function nodeSpec(n: NodeConfig): NodeSpec {
  return {
    name: n.name,
    host: n.host,
    port: n.port,
    priority: n.priority,
    noFailover: n.noFailover,
  };
}

export class ClusterLoop {
  readonly #d: ClusterLoopDeps;
  readonly #executor: FailoverExecutor;
  readonly #intents: IntentRunner;
  /** sync mode: keeps the synchronous standby (a no-op in async mode or when not `ok`) */
  readonly #sync: SyncStandbyManager;
  #health = new Map<string, NodeHealth>();
  #observations: Record<string, NodeObservation> = {};
  #tilt: TiltState = INITIAL_TILT;
  #topology: Topology | null = null;
  #coordination: ClusterView['coordination'] = 'unknown';
  #coordinationError: string | null = null;
  #votes: Vote[] = [];
  #paused: PauseState = { paused: false };
  #leader = false;
  #tiltActive = false;
  /** this tick's view of every node (status, presence, metrics), computed once per tick */
  #views: ClusterView['nodes'] = {};
  /** after regaining the Redis majority, observe (no acting) until this monotonic time */
  #regainedHoldUntilMono = 0;
  #decision: Decision | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #stopped = false;
  #lastTickMono: number | null = null;
  #lastTickWall: number | null = null;
  #tickInFlight: Promise<void> | null = null;
  /** epoch at which each stray primary was fenced, so it is fenced once per epoch */
  #fencedAt = new Map<string, number>();
  #verdictKey = '';
  /** last write of each periodic record (vote, presence, lead, verdict) */
  #written = new Map<string, { key: string; atMono: number }>();
  #verdictSinceWall = 0;

  constructor(deps: ClusterLoopDeps) {
    this.#d = deps;
    for (const n of deps.cluster.nodes) this.#health.set(n.name, newNodeHealth(n.name));
    this.#executor = new FailoverExecutor(deps);
    this.#intents = new IntentRunner(deps);
    this.#sync = new SyncStandbyManager(deps);
  }

  get name(): string {
    return this.#d.cluster.name;
  }

  /** Monotonic time of the last completed tick (health: the loop made progress). */
  get lastTickMono(): number | null {
    return this.#lastTickMono;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#tickInFlight;
    if (this.#leader) await this.#d.store.releaseLead(this.name).catch(() => undefined);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      const started = this.#d.clock.mono();
      this.#tickInFlight = this.tick()
        .then(() => undefined)
        .catch((err: unknown) =>
          this.#d.log.error({ cluster: this.name, err }, 'tick failed (bug): loop goes on'),
        )
        .finally(() => {
          this.#tickInFlight = null;
          const interval = this.#d.config.timing.probeIntervalMs * (0.9 + Math.random() * 0.2);
          this.#schedule(Math.max(0, interval - (this.#d.clock.mono() - started)));
        });
    }, delayMs);
  }

  /** One observe -> decide -> act cycle. Public for tests. */
  async tick(): Promise<Decision | null> {
    const { cluster, config, store, clock, sentinelId } = this.#d;
    const timing = config.timing;
    const tilt = tickTilt(this.#tilt, clock.mono(), timing);
    this.#tilt = tilt.state;
    if (tilt.entered)
      this.#d.log.warn(
        { cluster: this.name, epoch: this.#topology?.epoch, evidence: tilt.evidence },
        'entering TILT: observing only',
      );
    this.#tiltActive = tilt.tilt;

    const primary = this.#topology?.primary ?? cluster.initialPrimary;
    const [probes, coord, leader] = await Promise.all([
      Promise.all(
        cluster.nodes.map((n) =>
          this.#d.pg.probe(nodeSpec(n), {
            nowMono: () => clock.mono(),
            sentinel: sentinelId,
            heartbeat: n.name === primary,
          }),
        ),
      ),
      this.#readCoordination(),
      this.#lead(),
    ]);
    this.#leader = leader && coord;
    const nowMono = clock.mono();
    const observeOnly = tilt.tilt || nowMono < this.#regainedHoldUntilMono;
    this.#tiltActive = observeOnly;
    const epoch = this.#topology?.epoch ?? 0;
    for (const probe of probes) {
      const before = this.#health.get(probe.node) ?? newNodeHealth(probe.node);
      const j = judge(recordProbe(before, probe), nowMono, timing);
      this.#health.set(probe.node, j.health);
      this.#observations[probe.node] = j.observation;
      const event = transitionEvent(this.name, epoch, sentinelId, j);
      if (event) void this.#d.bus.emit(event);
    }

    if (coord && this.#topology === null) this.#topology = await bootstrapTopology(this.#d, probes);

    const decision = decide({
      cluster,
      timing,
      sentinelId,
      nowMono,
      nowWall: clock.wall(),
      topology: this.#topology,
      coordination: coord ? 'majority' : 'no-majority',
      paused: this.#paused.paused,
      tilt: observeOnly,
      leader: this.#leader,
      health: this.#observations,
      votes: this.#votes,
    });
    this.#logDecisionChange(decision);
    this.#decision = decision;
    this.#views = nodeViews(cluster.nodes, this.#topology, this.#observations);
    const presence = this.#presence();
    // Idle cost: rewrite a vote or presence only when it changed or a third of its TTL passed.
    const vote = decision.vote;
    const voteKey = vote ? `${vote.epoch}:${vote.primary}:${vote.down}` : '';
    const presenceKey = `${presence.leader}:${presence.tilt}`;
    await Promise.all([
      vote && this.#due('vote', voteKey, timing.voteTtlMs / 3)
        ? store.publishVote(this.name, vote, timing.voteTtlMs)
        : undefined,
      this.#due('presence', presenceKey, Math.min(1000, timing.presenceTtlMs / 3))
        ? store.publishPresence(this.name, presence, timing.presenceTtlMs)
        : undefined,
    ]);
    if (decision.vote)
      this.#votes = [...this.#votes.filter((v) => v.sentinel !== sentinelId), decision.vote];
    for (const e of decision.events) void this.#d.bus.emit(e);
    updateClusterMetrics(this.#d.metrics, {
      cluster: this.name,
      views: this.#views,
      leader: this.#leader,
      downVotes: decision.odown?.count ?? countDownVotes(this.#votes, this.#topology),
      epoch: this.#topology?.epoch ?? null,
      tilt: this.#tiltActive,
    });

    if (this.#leader && coord && this.#topology) {
      await this.#publishVerdict(this.#topology, decision);
      if (isInterrupted(this.#topology, clock.wall(), this.#d)) {
        const settled = await settleInterruptedFailover(
          this.#d,
          this.#topology,
          this.#observations,
        );
        if (settled) this.#topology = settled;
      }
    }
    if (this.#leader && this.#topology && !observeOnly)
      await this.#fenceStrayPrimaries(this.#topology);
    if (this.#leader && coord && this.#topology && !observeOnly && decision.kind !== 'failover') {
      const synced = await this.#sync.reconcile({
        topology: this.#topology,
        observations: this.#observations,
      });
      if (synced) this.#topology = synced;
    }
    let boundedWork = false;
    if (decision.kind === 'failover' && this.#topology) {
      const after = await this.#executor.run(this.#topology, decision, this.#observations);
      if (after) this.#topology = after;
    } else if (this.#leader && this.#topology && !observeOnly) {
      // operator intents (switchover, failback, manual failover) recorded by any sentinel's API
      const before = clock.mono();
      const t = await this.#intents.poll({
        topology: this.#topology,
        observations: this.#observations,
      });
      if (t) this.#topology = t;
      boundedWork = clock.mono() - before > timing.probeIntervalMs;
    }
    // A failover or switchover that ran inside this tick is our own bounded work (with its own
    // deadlines and epoch checks), not a pause of the process: measure the next TILT gap from
    // its end, or the leader would enter TILT after every long operation. (Ordinary ticks keep
    // measuring start to start, so a sentinel stopped mid-tick still enters TILT.)
    if (decision.kind === 'failover' || boundedWork)
      this.#tilt = markTickEnd(this.#tilt, clock.mono());
    this.#lastTickMono = clock.mono();
    this.#lastTickWall = clock.wall();
    return decision;
  }

  /** True when `what` changed (`key`) or was last written `everyMs` ago; records the write. */
  #due(what: string, key: string, everyMs: number): boolean {
    const now = this.#d.clock.mono();
    const last = this.#written.get(what);
    if (last && last.key === key && now - last.atMono < everyMs) return false;
    this.#written.set(what, { key, atMono: now });
    return true;
  }

  /** Take or extend the leader lock; a held lock is extended only when a third of its TTL is gone. */
  async #lead(): Promise<boolean> {
    const ttl = this.#d.config.timing.lockTtlMs;
    const renewed = this.#written.get('lead');
    if (
      this.#d.store.isLeader(this.name) &&
      renewed &&
      this.#d.clock.mono() - renewed.atMono < ttl / 3
    )
      return true;
    const leader = await this.#d.store.tryLead(this.name, ttl).catch(() => false);
    if (leader) this.#written.set('lead', { key: '', atMono: this.#d.clock.mono() });
    else this.#written.delete('lead');
    return leader;
  }

  /** Topology, votes and pause from a majority; false (never act) without one. */
  async #readCoordination(): Promise<boolean> {
    const { store } = this.#d;
    // Votes (a SCAN + MGET per server) matter only once the primary fails here: decide()
    // looks at the quorum only when this sentinel sees the primary down itself. Otherwise they
    // are read once a second, for status and the down_votes metric. Idle cost, no latency.
    const primary = this.#topology?.primary;
    const failingHere = primary !== undefined && this.#observations[primary]?.last?.ok === false;
    const readVotes = failingHere || this.#due('votes-read', '', 1000);
    try {
      const [topology, votes, paused] = await Promise.all([
        store.readTopology(this.name),
        readVotes ? store.readVotes(this.name) : null,
        store.readPause(this.name),
      ]);
      if (
        topology.value &&
        (this.#topology === null || topology.value.epoch >= this.#topology.epoch)
      )
        this.#topology = topology.value;
      if (votes) this.#votes = votes.value;
      if (paused.value.paused !== this.#paused.paused) {
        this.#d.log.info(
          { cluster: this.name, epoch: this.#topology?.epoch, paused: paused.value },
          paused.value.paused ? 'cluster paused' : 'cluster resumed',
        );
      }
      this.#paused = paused.value;
      if (this.#coordination === 'no-majority') {
        // A primary whose agent fenced itself while Redis was unreachable cannot commit our
        // heartbeat until its agent sees the majority again and unfences it: acting at once
        // would fail over a healthy primary. Observe for one detection window first (as TILT).
        this.#regainedHoldUntilMono = this.#d.clock.mono() + this.#d.config.timing.downAfterMs;
        this.#d.log.warn(
          { cluster: this.name, epoch: this.#topology?.epoch },
          'coordination majority regained: observing for downAfterMs before acting',
        );
      } else if (this.#coordination !== 'majority') {
        this.#d.log.info(
          { cluster: this.name, epoch: this.#topology?.epoch },
          'coordination majority reachable',
        );
      }
      this.#coordination = 'majority';
      this.#coordinationError = null;
      this.#d.metrics.coordinationMajority.set(1);
      return true;
    } catch (err) {
      const message = (err as Error).message;
      if (!(err instanceof CoordinationUnavailable))
        this.#d.log.error({ cluster: this.name, err }, 'coordination read failed');
      if (this.#coordination !== 'no-majority') {
        this.#d.log.error(
          { cluster: this.name, epoch: this.#topology?.epoch, err: message },
          'no coordination majority: automatic failover disabled until Redis is back',
        );
      }
      this.#coordination = 'no-majority';
      this.#coordinationError = message;
      this.#d.metrics.coordinationMajority.set(0);
      return false;
    }
  }

  /**
   * The leader's verdict on the primary, for the agents: a crashed primary's agent restarts it
   * as a primary only when the leader says no failover will happen (e.g. `no-candidate`,
   * `paused`, or `no-quorum` for long enough: `sinceWall`). See src/core/agent.
   */
  async #publishVerdict(topology: Topology, decision: Decision): Promise<void> {
    const nowWall = this.#d.clock.wall();
    const key = `${topology.epoch}:${decision.reason}`;
    if (this.#verdictKey !== key) {
      this.#verdictKey = key;
      this.#verdictSinceWall = nowWall;
    }
    if (!this.#due('verdict', key, 1000)) return;
    const verdict = {
      id: `${this.#d.sentinelId}:${key}:${this.#verdictSinceWall}`,
      atWall: nowWall,
      epoch: topology.epoch,
      primary: topology.primary,
      kind: decision.kind,
      reason: decision.reason,
      sinceWall: this.#verdictSinceWall,
      by: this.#d.sentinelId,
    };
    await this.#d.store
      .putRecord(this.name, 'verdict', verdict, VERDICT_TTL_MS)
      .catch((err: Error) =>
        this.#d.log.debug({ cluster: this.name, err: err.message }, 'verdict not written'),
      );
  }

  /**
   * Rule 5 after the fact: a node answering as a writable primary that the committed topology
   * says is a standby (an old primary that was unreachable during the failover and came back)
   * is fenced at once, before clients that missed the event can write to it.
   */
  async #fenceStrayPrimaries(topology: Topology): Promise<void> {
    for (const n of this.#d.cluster.nodes) {
      const last = this.#observations[n.name]?.last;
      if (n.name === topology.primary || !last?.ok || last.role !== 'primary') continue;
      if (this.#fencedAt.get(n.name) === topology.epoch) continue;
      this.#fencedAt.set(n.name, topology.epoch);
      try {
        await this.#d.pg.fence(nodeSpec(n));
        await this.#d.bus.emit({
          type: 'node-fenced',
          cluster: this.name,
          epoch: topology.epoch,
          node: n.name,
          by: this.#d.sentinelId,
          reason: `answers as primary but ${topology.primary} is the primary of epoch ${topology.epoch}`,
        });
      } catch (err) {
        this.#fencedAt.delete(n.name);
        this.#d.log.warn(
          { cluster: this.name, epoch: topology.epoch, node: n.name, err: (err as Error).message },
          'could not fence a stray primary',
        );
      }
    }
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

  #presence(): SentinelPresence {
    const view: Record<string, NodeView> = {};
    for (const [name, v] of Object.entries(this.#views))
      view[name] = {
        up: v.up,
        role: v.role,
        lagBytes: v.lagBytes,
        lagSeconds: v.lagSeconds,
        evidence: v.evidence,
      };
    return {
      id: this.#d.sentinelId,
      api: this.#d.apiUrl,
      leader: this.#leader,
      atWall: this.#d.clock.wall(),
      tilt: this.#tiltActive,
      version: VERSION,
      view,
    };
  }

  view(): ClusterView {
    const d = this.#decision;
    return {
      cluster: this.name,
      sentinel: this.#d.sentinelId,
      coordination: this.#coordination,
      coordinationError: this.#coordinationError,
      topology: this.#topology,
      paused: this.#paused,
      leader: this.#leader,
      tilt: this.#tiltActive,
      decision: d ? { kind: d.kind, reason: d.reason, evidence: d.evidence } : null,
      votes: this.#votes,
      nodes: this.#views,
      lastTickWall: this.#lastTickWall,
    };
  }
}
