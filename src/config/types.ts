/**
 * The resolved, frozen configuration. Produced only by `loadConfig()` (schema.ts + load.ts),
 * which holds every default and cross-field rule. Plain data: core may import these types.
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
  /** agent: reconcile loop interval */
  agentIntervalMs: number;
  /** switchover/failback: how long the target may take to replay the old primary's final LSN */
  switchoverTimeoutMs: number;
  /** API: how long a mutating call waits for the leader to run it */
  intentTimeoutMs: number;
}

export interface NodeConfig {
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

export interface ClusterConfig {
  name: string;
  /** distinct sentinels that must see the primary down (majority of `sentinels`) */
  quorum: number;
  /** standbys replaying further behind than this are never promoted automatically */
  maxLagOnFailoverBytes: number;
  preferredPrimary?: string;
  /** the primary when nothing is stored in Redis yet */
  initialPrimary: string;
  database: string;
  /** superuser-level account the sentinels probe and control with */
  user: string;
  password: string;
  replication: {
    mode: 'async' | 'sync';
    user: string;
    password: string;
  };
  nodes: NodeConfig[];
}

export interface Config {
  /** directory of the config file; relative paths in it are resolved against this */
  baseDir: string;
  /** number of sentinels configured in this sentinel set (quorum must be a majority of it) */
  sentinels: number;
  sentinel: {
    /** defaults to `<hostname>-<pid>` */
    id: string;
    api: { host: string; port: number; token?: string };
  };
  coordination: {
    prefix: string;
    redis: string[]; // 1, 3 or 5 independent servers
  };
  timing: Timing;
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' };
  agent: {
    /** rule 5: an old data directory replaced by a fresh base backup is kept aside unless false */
    keepOldDataDirs: boolean;
    /** PostgreSQL binaries (default: pg_config --bindir, else the newest /usr/lib/postgresql/N/bin) */
    pgBinDir?: string;
    /** OS user postgres runs as when the agent runs as root (default `postgres`) */
    runAsUser: string;
  };
  clusters: ClusterConfig[];
}
