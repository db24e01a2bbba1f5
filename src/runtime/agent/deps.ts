/**
 * The narrow dependencies of the agent process. The composition root (src/commands/agent.ts)
 * builds the adapters (Redis store, Postgres control, the process adapter holding the node's
 * credentials, the local observer) and hands them in; the agent sees no secret.
 */
import type { ClusterSpec, NodeSpec, Timing } from '../../core/spec.js';
import type { Clock } from '../../ports/clock.js';
import type { CoordinationStore } from '../../ports/coordination.js';
import type { Logger } from '../../ports/logger.js';
import type { NodeProcess } from '../../ports/node-process.js';
import type { LocalNodeObserver, NodeControl } from '../../ports/postgres.js';
import type { EventSink } from '../events.js';

export interface AgentDeps {
  cluster: ClusterSpec;
  /** the node this agent serves */
  node: string;
  timing: Timing;
  /** rule 5: an old data directory replaced by a fresh base backup is kept aside unless false */
  keepOldDataDirs: boolean;
  store: Pick<CoordinationStore, 'readTopology' | 'getRecord'>;
  /** SQL control of any node of the cluster (fence, repoint, slots) */
  pg: NodeControl;
  bus: EventSink;
  log: Logger;
  clock: Clock;
  /** pg_ctl, pg_controldata, pg_rewind, pg_basebackup on this node's data directory */
  process: NodeProcess;
  observer: LocalNodeObserver;
  /** the longest one local observation may take (its query timeout): health allows for it */
  observeTimeoutMs: number;
  /**
   * TEST-ONLY (commands/test-unsafe.ts, PGVIGIL_TEST_UNSAFE=skip-lease): the lease is never
   * enforced (no watchdog, no `lease-expired` fence), so the fault runner can show two primaries
   */
  unsafeSkipLease?: boolean;
}

/** What the I/O behind one decision needs (actions.ts). */
export interface ActionContext extends Pick<
  AgentDeps,
  'cluster' | 'node' | 'keepOldDataDirs' | 'store' | 'pg' | 'bus' | 'clock' | 'process' | 'observer'
> {
  self: NodeSpec;
  /** postgres ran at decision time */
  running: boolean;
  /** its SQL session answered at decision time */
  reachable: boolean;
  /** carries cluster, node and epoch */
  log: Logger;
}

/** What a rejoin needs (rejoin.ts). */
export interface RejoinDeps {
  process: NodeProcess;
  pg: Pick<NodeControl, 'ensureSlot'>;
  observer: Pick<LocalNodeObserver, 'inRecovery' | 'streamsFrom'>;
  self: NodeSpec;
  keepOldDataDirs: boolean;
  log: Logger;
  clock: Clock;
  /** how long a started standby may take to stream before the next method is tried */
  streamingWaitMs: number;
}
