/**
 * What core reads of the configuration: the timing and each cluster's shape, with no secret in
 * it (passwords and tokens stay in src/config and the adapters built from it). src/config
 * builds the resolved `Config` on these slices.
 */

/** Timing of detection and coordination. `profile: fast` changes only the defaults. */
export interface Timing {
  profile: 'default' | 'fast';
  /** how often each node is probed (jittered by +-10%) */
  probeIntervalMs: number;
  /** no successful probe for this long -> SDOWN (hung, partitioned) */
  downAfterMs: number;
  /** shorter SDOWN when every failed probe since the last success was actively refused */
  refusedAfterMs: number;
  /** connect timeout of a probe connection (well under downAfterMs) */
  connectTimeoutMs: number;
  /** client-side query timeout of a probe (well under downAfterMs) */
  queryTimeoutMs: number;
  /** TTL of a down vote in Redis */
  voteTtlMs: number;
  /** TTL of sentinel presence in Redis */
  presenceTtlMs: number;
  /** redlock TTL of the leader lock (extended every tick by the leader) */
  lockTtlMs: number;
  /** no second automatic failover within this window (rule 6) */
  cooldownMs: number;
  /** a tick gap over this means the process was paused: enter TILT */
  tiltGapMs: number;
  /** how long TILT lasts: observe, do not act */
  tiltMs: number;
  /** pg_promote wait */
  promoteTimeoutMs: number;
  /** Redis command timeout */
  redisTimeoutMs: number;
  /** agent: a primary that cannot confirm its epoch on a Redis majority this long fences itself */
  leaseMs: number;
  /**
   * agent: the most an expired lease's fence (an immediate stop) may take; rules.ts requires
   * leaseMs + fenceMs + probeIntervalMs <= downAfterMs
   */
  fenceMs: number;
  /** agent: reconcile loop interval */
  agentIntervalMs: number;
  /** switchover/failback: how long the target may take to replay the old primary's final LSN */
  switchoverTimeoutMs: number;
  /** API: how long a mutating call waits for the leader to run it */
  intentTimeoutMs: number;
}

/** One node as the sentinels and agents see it (config `clusters[].nodes[]`). */
export interface NodeSpec {
  name: string;
  host: string;
  port: number;
  /** higher wins among equally advanced standbys */
  priority: number;
  /** never promote automatically */
  noFailover: boolean;
  /** the agent of this node, when one runs: its API (GET /primary, /replica, /health) */
  agent?: { url: string };
  /** the node's data directory, as seen by its agent (the agent owns it) */
  dataDir?: string;
}

/** A cluster as decisions need it: no credentials. */
export interface ClusterSpec {
  name: string;
  /** distinct sentinels that must see the primary down (majority of `sentinels`) */
  quorum: number;
  /** standbys replaying further behind than this are never promoted automatically */
  maxLagOnFailoverBytes: number;
  preferredPrimary?: string;
  /** the primary when nothing is stored in Redis yet */
  initialPrimary: string;
  replication: {
    mode: 'async' | 'sync';
    /** `max_slot_wal_keep_size` the leader keeps on the primary (default 1GB, -1: unlimited) */
    maxSlotWalKeepSize?: string;
    /** the slot of a node unreachable for this long is dropped (default 10 min) */
    dropSlotAfterMs?: number;
  };
  nodes: NodeSpec[];
}
