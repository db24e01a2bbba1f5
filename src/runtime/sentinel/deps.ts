/**
 * The narrow dependencies of the sentinel process, one slice per collaborator: each takes only
 * what it uses, so a unit test passes a plain object (BullMQ's small context interfaces). The
 * composition root (src/commands/sentinel.ts) builds the adapters; nothing here constructs one.
 */
import type { ClusterSpec, NodeSpec, Timing } from '../../core/spec.js';
import type { AgentControl } from '../../ports/agent-control.js';
import type { Clock } from '../../ports/clock.js';
import type { CoordinationStore } from '../../ports/coordination.js';
import type { Logger } from '../../ports/logger.js';
import type { SentinelMetricsPort } from '../../ports/metrics.js';
import type { NodeControl, PostgresPort } from '../../ports/postgres.js';
import type { SlotControl } from '../../ports/slots.js';
import type { EventSink, EventSource } from '../events.js';
import type { EpochStamps } from './stamps.js';

/** The committed topology: majority read, epoch CAS, same-epoch rewrite by its writer. */
export type TopologyStore = Pick<
  CoordinationStore,
  'readTopology' | 'casTopology' | 'updateTopology'
>;
/** The leader lock. */
export type LeaderLock = Pick<CoordinationStore, 'tryLead' | 'releaseLead' | 'isLeader'>;
/** Small records (intents, their results, the verdict). */
export type RecordStore = Pick<
  CoordinationStore,
  'putRecord' | 'claimRecord' | 'getRecord' | 'deleteRecord'
>;
/** Probing one node (never throws). */
export type Prober = Pick<PostgresPort, 'probe'>;

/** What every collaborator of one cluster's loop knows: which cluster, which sentinel, when. */
export interface ClusterContext {
  cluster: ClusterSpec;
  timing: Timing;
  sentinelId: string;
  clock: Clock;
  log: Logger;
  /** failed epoch stamps, retried by the loop (stamps.ts); absent: logged only */
  stamps?: EpochStamps;
}

/** Epoch 1 on a new cluster (bootstrap.ts). */
export interface BootstrapDeps extends ClusterContext {
  store: Pick<CoordinationStore, 'casTopology'>;
  pg: Pick<NodeControl, 'stampEpoch'>;
  bus: EventSink;
}

/** The failover machine's I/O (failover-executor.ts) and the roll-forward (recovery.ts). */
export interface FailoverDeps extends ClusterContext {
  store: TopologyStore;
  pg: NodeControl;
  bus: EventSink;
  metrics: Pick<SentinelMetricsPort, 'failover'>;
  /** test hook (PGVIGIL_TEST_SIGSTOP_AFTER): called after each failover action has answered */
  afterAction?: (type: string) => void;
}

/** The synchronous standby keeper (sync-standby.ts). */
export interface SyncDeps extends ClusterContext {
  store: TopologyStore;
  pg: Pick<NodeControl, 'stampEpoch' | 'setSyncStandbyNames'>;
  bus: EventSink;
}

/** Switchover, failback and the repair of an orphaned switchover (switchover*.ts). */
export interface SwitchoverDeps extends ClusterContext {
  store: TopologyStore & Pick<LeaderLock, 'tryLead'>;
  pg: NodeControl & Prober;
  bus: EventSink;
  metrics: Pick<SentinelMetricsPort, 'failover'>;
  agents: AgentControl;
}

/** The leader's intent inbox (intents.ts): switchovers and forced failovers. */
export interface IntentDeps extends SwitchoverDeps {
  store: SwitchoverDeps['store'] & RecordStore;
  bus: EventSink & EventSource;
}

/** One cluster's loop (cluster-loop.ts): everything its steps and collaborators use. */
export interface ClusterLoopDeps extends ClusterContext {
  store: CoordinationStore;
  pg: PostgresPort;
  bus: EventSink & EventSource;
  metrics: SentinelMetricsPort;
  agents: AgentControl;
  /** this sentinel's admin API, advertised in its presence record */
  apiUrl: string | null;
  /** the pgvigil version, advertised in its presence record */
  version: string;
  /** the configured sentinel set: votes of other ids are ignored (empty or absent: any id) */
  peers?: readonly string[];
  /** test hook, see FailoverDeps */
  afterAction?: (type: string) => void;
  /** TEST-ONLY: safety rule 2 off (commands/test-unsafe.ts) */
  unsafeSkipRule2?: boolean;
  /** replication slots on the primary (slots.ts); absent: slots are not looked after */
  slots?: SlotControl;
}

/** The spec of the node `name` of this cluster (a config error when it is not one). */
export function nodeOf(cluster: ClusterSpec, name: string): NodeSpec {
  const n = cluster.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`node ${name} is not in cluster ${cluster.name}`);
  return n;
}
