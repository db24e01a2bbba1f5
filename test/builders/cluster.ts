/**
 * `aCluster()`: a decision snapshot (DecisionInput) of cluster c1 as sentinel s1 sees it.
 * Default: pg1 primary, pg2 (priority 100) and pg3 (priority 50) caught-up standbys streaming
 * from pg1, every node probed ok 100 ms ago, s1 leader, Redis majority, no votes.
 *
 * Node observations are produced by the real health code (recordProbe + judge) from the
 * probe histories held here, so the snapshot is one the runtime could actually build.
 */
import type { ClusterConfig, NodeConfig, Timing } from '../../src/config/types.js';
import type { DecisionInput } from '../../src/core/decide.js';
import { judge, newNodeHealth, type NodeObservation, recordProbe } from '../../src/core/health.js';
import type { ProbeFailure, ProbeResult, Topology, Vote } from '../../src/core/model.js';
import { aProbe } from './probe.js';
import { aTiming, NOW_MONO, NOW_WALL } from './timing.js';
import { aTopology } from './topology.js';
import { aVote } from './vote.js';

type Flags = Pick<
  DecisionInput,
  'sentinelId' | 'nowMono' | 'nowWall' | 'coordination' | 'paused' | 'tilt' | 'leader'
>;

export function aClusterConfig(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  const node = (name: string, n: number, priority: number): NodeConfig => ({
    name,
    host: `10.0.0.${n}`,
    port: 5432,
    priority,
    noFailover: false,
  });
  return {
    name: 'c1',
    quorum: 2,
    maxLagOnFailoverBytes: 1_048_576,
    initialPrimary: 'pg1',
    database: 'postgres',
    user: 'postgres',
    password: 'secret',
    replication: { mode: 'async', user: 'replicator', password: 'secret' },
    nodes: [node('pg1', 1, 100), node('pg2', 2, 100), node('pg3', 3, 50)],
    ...overrides,
  };
}

/** Observations of `probes` judged at `nowMono`, keyed by node. */
export function observe(
  probes: readonly ProbeResult[],
  nowMono: number,
  timing: Timing,
): Record<string, NodeObservation> {
  const byNode = new Map<string, ProbeResult[]>();
  for (const p of probes) byNode.set(p.node, [...(byNode.get(p.node) ?? []), p]);
  const out: Record<string, NodeObservation> = {};
  for (const [node, list] of byNode) {
    out[node] = judge(list.reduce(recordProbe, newNodeHealth(node)), nowMono, timing).observation;
  }
  return out;
}

/** Probes of `node` every 500 ms from `fromMono` up to `toMono`, all built by `make`. */
export function probesEvery(
  node: string,
  fromMono: number,
  toMono: number,
  make: (at: number) => ProbeResult,
): ProbeResult[] {
  const out: ProbeResult[] = [];
  for (let at = fromMono; at <= toMono; at += 500) out.push({ ...make(at), node });
  return out;
}

export class ClusterBuilder {
  #cluster = aClusterConfig();
  #timing = aTiming();
  #topology: Topology | null = aTopology();
  #probes = new Map<string, ProbeResult[]>();
  #votes: Vote[] = [];
  #flags: Flags = {
    sentinelId: 's1',
    nowMono: NOW_MONO,
    nowWall: NOW_WALL,
    coordination: 'majority',
    paused: false,
    tilt: false,
    leader: true,
  };

  constructor() {
    this.#probes.set('pg1', [
      aProbe('pg1')
        .primary()
        .at(NOW_MONO - 600)
        .build(),
      aProbe('pg1').primary().build(),
    ]);
    for (const name of ['pg2', 'pg3']) {
      this.#probes.set(name, [
        aProbe(name)
          .standby()
          .streaming()
          .at(NOW_MONO - 600)
          .build(),
        aProbe(name).standby().streaming().build(),
      ]);
    }
  }

  /**
   * The primary stopped answering `forMs` ago (failed probes every 500 ms since), the standbys'
   * WAL receivers lost it (no receiver row), and sentinel s2 voted it down 300 ms ago.
   * With s1's own vote that is ODOWN at quorum 2.
   */
  withPrimaryDown(opts: { failure?: ProbeFailure; forMs?: number } = {}): this {
    const { failure = 'timeout', forMs = 5000 } = opts;
    const lastOk = NOW_MONO - forMs;
    const primary = this.#topology?.primary ?? 'pg1';
    this.#probes.set(primary, [
      aProbe(primary).primary().at(lastOk).build(),
      ...probesEvery(primary, lastOk + 500, NOW_MONO - 100, (at) =>
        aProbe(primary).failed(failure).at(at).build(),
      ),
    ]);
    for (const [name, list] of this.#probes) {
      if (name !== primary)
        this.#probes.set(
          name,
          list.map(({ walReceiver: _lost, ...p }) => p),
        );
    }
    this.#votes = [aVote().by('s2').about(primary, this.#topology?.epoch).build()];
    return this;
  }

  /** Replace every probe of `node`. */
  withProbes(node: string, ...probes: ProbeResult[]): this {
    this.#probes.set(node, probes);
    return this;
  }

  /** Patch the latest probe of a node (e.g. its LSNs or WAL receiver). */
  withLatest(node: string, patch: Partial<ProbeResult>): this {
    const list = this.#probes.get(node) ?? [];
    const last = list.at(-1);
    if (last === undefined) throw new Error(`no probe of ${node} to patch`);
    this.#probes.set(node, [...list.slice(0, -1), { ...last, ...patch }]);
    return this;
  }

  /** A standby at the given LSNs (replay defaults to caught up), without a WAL receiver. */
  withStandbyAt(node: string, received: number, replayed = received): this {
    this.#probes.set(node, [aProbe(node).standby(received, replayed).build()]);
    return this;
  }

  /** `node` has not answered for 10 s. */
  withUnreachable(node: string, failure: ProbeFailure = 'timeout'): this {
    this.#probes.set(
      node,
      probesEvery(node, NOW_MONO - 9500, NOW_MONO - 100, (at) =>
        aProbe(node).failed(failure).at(at).build(),
      ),
    );
    return this;
  }

  withNode(name: string, patch: Partial<NodeConfig>): this {
    this.#cluster = {
      ...this.#cluster,
      nodes: this.#cluster.nodes.map((n) => (n.name === name ? { ...n, ...patch } : n)),
    };
    return this;
  }

  withClusterConfig(patch: Partial<ClusterConfig>): this {
    this.#cluster = { ...this.#cluster, ...patch };
    return this;
  }

  syncMode(syncStandbys: string[]): this {
    this.#cluster = {
      ...this.#cluster,
      replication: { ...this.#cluster.replication, mode: 'sync' },
    };
    return this.withTopology({ syncStandbys });
  }

  withTiming(patch: Partial<Timing>): this {
    this.#timing = { ...this.#timing, ...patch };
    return this;
  }

  withTopology(patch: Partial<Topology>): this {
    this.#topology = { ...(this.#topology ?? aTopology()), ...patch };
    return this;
  }

  withoutTopology(): this {
    this.#topology = null;
    return this;
  }

  withVotes(...votes: Vote[]): this {
    this.#votes = votes;
    return this;
  }

  with(flags: Partial<Flags>): this {
    this.#flags = { ...this.#flags, ...flags };
    return this;
  }

  build(): DecisionInput {
    const probes = [...this.#probes.values()].flat();
    return {
      cluster: this.#cluster,
      timing: this.#timing,
      topology: this.#topology,
      votes: [...this.#votes],
      health: observe(probes, this.#flags.nowMono, this.#timing),
      ...this.#flags,
    };
  }
}

export function aCluster(): ClusterBuilder {
  return new ClusterBuilder();
}
