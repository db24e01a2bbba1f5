/**
 * The coordinate step of a cluster loop: what this sentinel knows from the Redis majority
 * (topology, votes, pause) and whether it holds the leader lock. Without a majority nothing
 * may act; regaining it starts a hold of `downAfterMs` during which the loop only observes.
 */
import { CoordinationUnavailable } from '../../core/errors.js';
import type { PauseState, Topology, Vote } from '../../core/model.js';
import type { CoordinationStore } from '../../ports/coordination.js';
import type { SentinelMetricsPort } from '../../ports/metrics.js';
import type { ClusterContext, LeaderLock } from './deps.js';
import type { Throttle } from './throttle.js';

export type CoordinationState = 'majority' | 'no-majority' | 'unknown';

/**
 * Idle cost: how often a follower that has nothing to act on refreshes what it knows from Redis
 * (topology, pause, votes and its bid for the lead), at most; a tick between two refreshes
 * decides on the last majority read. A bid every tick cost each follower a redlock attempt per
 * server three times a second (evalsha, the lock script's EXISTS, an error object per refusal)
 * while the leader held the lock anyway; `bench:idle` measures the difference.
 */
export const FOLLOWER_REFRESH_MS = 1000;

export interface CoordinatorDeps extends ClusterContext {
  store: LeaderLock & Pick<CoordinationStore, 'readTopology' | 'readVotes' | 'readPause'>;
  metrics: Pick<SentinelMetricsPort, 'coordinationMajority'>;
  /** the configured sentinel set (empty or absent: any id) */
  peers?: readonly string[];
}

export class Coordinator {
  readonly #d: CoordinatorDeps;
  readonly #throttle: Throttle;
  state: CoordinationState = 'unknown';
  error: string | null = null;
  votes: Vote[] = [];
  paused: PauseState = { paused: false };
  /** after regaining the Redis majority, observe (no acting) until this monotonic time */
  holdUntilMono = 0;
  /** ids outside sentinel.peers already logged (once each) */
  readonly #strangers = new Set<string>();

  constructor(deps: CoordinatorDeps, throttle: Throttle) {
    this.#d = deps;
    this.#throttle = throttle;
  }

  get #name(): string {
    return this.#d.cluster.name;
  }

  /** Replace our own vote in the list (what we just published). */
  recordOwnVote(vote: Vote): void {
    this.votes = [...this.votes.filter((v) => v.sentinel !== vote.sentinel), vote];
  }

  /**
   * Whether this tick reads Redis and bids for (or extends) the lead. Every tick for the leader
   * (it acts on what it reads: a pause set a moment ago must stop its failover), for a sentinel
   * that sees the primary fail (its votes and its bid are what detection waits for), and for one
   * with no topology or no majority yet; otherwise every FOLLOWER_REFRESH_MS (a quarter of the
   * lock TTL at most): a leader that died is replaced at most that much after its lock expires.
   * A new leader always starts from a fresh read: its bid comes with one.
   */
  refreshDue(o: { leader: boolean; failingHere: boolean; hasTopology: boolean }): boolean {
    if (o.leader || o.failingHere || !o.hasTopology || this.state !== 'majority') {
      this.#throttle.mark('refresh');
      return true;
    }
    const every = Math.min(FOLLOWER_REFRESH_MS, this.#d.timing.lockTtlMs / 4);
    return this.#throttle.due('refresh', '', every);
  }

  /** Take or extend the leader lock; a held lock is extended only when a third of its TTL is gone. */
  async lead(): Promise<boolean> {
    const { store, timing, clock } = this.#d;
    const ttl = timing.lockTtlMs;
    const renewed = this.#throttle.lastMono('lead');
    if (store.isLeader(this.#name) && renewed !== null && clock.mono() - renewed < ttl / 3)
      return true;
    const leader = await store.tryLead(this.#name, ttl).catch(() => false);
    if (leader) this.#throttle.mark('lead');
    else this.#throttle.forget('lead');
    return leader;
  }

  /**
   * Topology, votes and pause from a majority: the topology read (null: none stored), or
   * `false` without a majority (never act). Votes are read only when `votesNeeded` or once a
   * second.
   */
  async read(o: {
    votesNeeded: boolean;
    epoch: number | undefined;
  }): Promise<Topology | null | false> {
    const { store } = this.#d;
    // Votes (a SCAN + MGET per server) matter only once the primary fails here: decide()
    // looks at the quorum only when this sentinel sees the primary down itself. Otherwise they
    // are read once a second, for status and the down_votes metric. Idle cost, no latency.
    const readVotes = o.votesNeeded || this.#throttle.due('votes-read', '', 1000);
    try {
      const [topology, votes, paused] = await Promise.all([
        store.readTopology(this.#name),
        readVotes ? store.readVotes(this.#name) : null,
        store.readPause(this.#name),
      ]);
      if (votes) {
        this.votes = votes.value;
        this.#noteStrangers(votes.value.map((v) => v.sentinel));
      }
      if (topology.unreverted)
        this.#d.log.warn(
          { cluster: this.#name, epoch: o.epoch, unreverted: topology.unreverted },
          'a lost epoch CAS is still not reverted on every server: retrying before each read',
        );
      if (paused.value.paused !== this.paused.paused) {
        this.#d.log.info(
          { cluster: this.#name, epoch: topology.value?.epoch ?? o.epoch, paused: paused.value },
          paused.value.paused ? 'cluster paused' : 'cluster resumed',
        );
      }
      this.paused = paused.value;
      this.#note(null, topology.value?.epoch ?? o.epoch);
      return topology.value;
    } catch (err) {
      if (!(err instanceof CoordinationUnavailable))
        this.#d.log.error({ cluster: this.#name, err }, 'coordination read failed');
      this.#note((err as Error).message, o.epoch);
      return false;
    }
  }

  /** A vote from an id outside sentinel.peers is ignored by the quorum (core): log it once. */
  #noteStrangers(ids: readonly string[]): void {
    const peers = this.#d.peers ?? [];
    if (peers.length === 0) return;
    for (const id of ids) {
      if (peers.includes(id) || this.#strangers.has(id)) continue;
      this.#strangers.add(id);
      this.#d.log.warn(
        { cluster: this.#name, sentinel: id, peers },
        'vote from a sentinel id outside sentinel.peers: ignored',
      );
    }
  }

  /** Coordination state changes are logged once, and regaining the majority starts a hold. */
  #note(error: string | null, epoch: number | undefined): void {
    const ctx = { cluster: this.#name, epoch };
    if (error === null) {
      if (this.state === 'no-majority') {
        // A primary whose agent fenced itself while Redis was unreachable cannot commit our
        // heartbeat until its agent sees the majority again and unfences it: acting at once
        // would fail over a healthy primary. Observe for one detection window first (as TILT).
        this.holdUntilMono = this.#d.clock.mono() + this.#d.timing.downAfterMs;
        this.#d.log.warn(
          ctx,
          'coordination majority regained: observing for downAfterMs before acting',
        );
      } else if (this.state !== 'majority') {
        this.#d.log.info(ctx, 'coordination majority reachable');
      }
      this.state = 'majority';
    } else {
      if (this.state !== 'no-majority')
        this.#d.log.error(
          { ...ctx, err: error },
          'no coordination majority: automatic failover disabled until Redis is back',
        );
      this.state = 'no-majority';
    }
    this.error = error;
    this.#d.metrics.coordinationMajority(error === null);
  }
}
