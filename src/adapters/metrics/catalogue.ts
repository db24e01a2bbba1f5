/**
 * Every `pgvigil_*` series (DESIGN.md, Metrics), in one place: name, type, help text, labels
 * and which process exports it. The prom-client adapters (metrics.ts for the sentinel,
 * agent-metrics.ts for the agent) build their series from these entries, the README's metric
 * table is checked against it (test/unit/adapters/metrics-catalogue.test.ts) and the dashboards
 * and alert rules (monitoring/, config/prometheus/alerts.yml) use only names listed here.
 * Names and labels are a stable contract: add, never rename.
 */

export type MetricType = 'gauge' | 'counter' | 'histogram';
/** who exports the series: a sentinel, a node's agent, or the backup runner */
export type MetricSource = 'sentinel' | 'agent' | 'backup';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  readonly source: MetricSource;
  readonly buckets?: readonly number[];
}

const NODE = ['cluster', 'node'] as const;
const CLUSTER = ['cluster'] as const;
const TYPE = ['type'] as const;

function m<const L extends readonly string[]>(
  name: string,
  type: MetricType,
  source: MetricSource,
  labels: L,
  help: string,
  buckets?: readonly number[],
): MetricSpec & { labels: L } {
  return { name: `pgvigil_${name}`, type, source, labels, help, ...(buckets ? { buckets } : {}) };
}

export const METRICS = {
  // ---- sentinel: what its probes see of every node ------------------------------------
  nodeUp: m('node_up', 'gauge', 'sentinel', NODE, '1 when the last probe of the node succeeded'),
  nodeIsPrimary: m(
    'node_is_primary',
    'gauge',
    'sentinel',
    NODE,
    '1 when the node answered as a primary',
  ),
  lagBytes: m(
    'replication_lag_bytes',
    'gauge',
    'sentinel',
    NODE,
    'standby replay lag behind the primary in bytes',
  ),
  lagSeconds: m(
    'replication_lag_seconds',
    'gauge',
    'sentinel',
    NODE,
    'standby replay lag in seconds (0 when caught up)',
  ),
  walLsn: m(
    'node_wal_lsn_bytes',
    'gauge',
    'sentinel',
    NODE,
    'WAL position of the node in bytes (primary: current write LSN, standby: last received LSN); rate() is its WAL rate',
  ),
  topologyFenced: m(
    'topology_node_fenced',
    'gauge',
    'sentinel',
    NODE,
    '1 while the committed topology marks the node fenced by the operator (pgvigil fence, POST /fence)',
  ),
  probeDuration: m(
    'probe_duration_seconds',
    'histogram',
    'sentinel',
    NODE,
    'duration of one SQL probe',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  ),
  // ---- sentinel: the cluster -----------------------------------------------------------
  isLeader: m(
    'sentinel_is_leader',
    'gauge',
    'sentinel',
    CLUSTER,
    '1 while this sentinel holds the cluster leader lock',
  ),
  downVotes: m(
    'down_votes',
    'gauge',
    'sentinel',
    CLUSTER,
    'fresh down votes about the current primary',
  ),
  epoch: m('topology_epoch', 'gauge', 'sentinel', CLUSTER, 'epoch of the committed topology'),
  quorum: m(
    'cluster_quorum',
    'gauge',
    'sentinel',
    CLUSTER,
    'down votes needed to declare the primary down (clusters[].quorum)',
  ),
  liveSentinels: m(
    'sentinels_live',
    'gauge',
    'sentinel',
    CLUSTER,
    'sentinels whose presence is fresh on a Redis majority (read at scrape time; -1 when no majority answered)',
  ),
  failovers: m(
    'failovers_total',
    'counter',
    'sentinel',
    ['cluster', 'kind'] as const,
    'failovers and switchovers performed by this sentinel (kind: automatic, manual, switchover, failback)',
  ),
  failoverDuration: m(
    'failover_duration_seconds',
    'histogram',
    'sentinel',
    CLUSTER,
    'from the failover decision to the new primary writable and published',
    [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  ),
  tilt: m(
    'sentinel_tilt',
    'gauge',
    'sentinel',
    [],
    '1 while the sentinel is in TILT (observing only)',
  ),
  coordinationMajority: m(
    'coordination_majority',
    'gauge',
    'sentinel',
    [],
    '1 when a majority of the Redis servers answered in the last tick',
  ),
  // ---- agent: its own node --------------------------------------------------------------
  agentPostgresUp: m(
    'agent_postgres_up',
    'gauge',
    'agent',
    NODE,
    '1 when the local postgres runs and answered the agent this loop',
  ),
  agentIsPrimary: m(
    'agent_node_is_primary',
    'gauge',
    'agent',
    NODE,
    '1 when the local postgres is out of recovery (a primary), 0 as a standby or when unknown',
  ),
  agentLagBytes: m(
    'agent_replication_lag_bytes',
    'gauge',
    'agent',
    NODE,
    "standby: the sender's WAL end as last reported minus the replayed LSN, in bytes",
  ),
  fenced: m(
    'node_fenced',
    'gauge',
    'agent',
    NODE,
    '1 while the local postgres is fenced (default_transaction_read_only on)',
  ),
  agentEpoch: m(
    'agent_topology_epoch',
    'gauge',
    'agent',
    NODE,
    'epoch of the topology the agent last read',
  ),
  agentCoordination: m(
    'agent_coordination_majority',
    'gauge',
    'agent',
    NODE,
    '1 when the agent reached a Redis majority in its last loop',
  ),
  lastRejoin: m(
    'node_last_rejoin_timestamp_seconds',
    'gauge',
    'agent',
    ['cluster', 'node', 'method'] as const,
    'when the node last rejoined as a standby (method: restart, rewind, basebackup), Unix time',
  ),
  rejoins: m(
    'node_rejoins_total',
    'counter',
    'agent',
    ['cluster', 'node', 'method'] as const,
    'rejoins performed by this agent since it started',
  ),
  slotRetained: m(
    'replication_slot_retained_bytes',
    'gauge',
    'agent',
    ['cluster', 'node', 'slot'] as const,
    "WAL a replication slot of this primary retains (current LSN minus the slot's restart_lsn), in bytes",
  ),
  slotActive: m(
    'replication_slot_active',
    'gauge',
    'agent',
    ['cluster', 'node', 'slot'] as const,
    '1 when a receiver streams from the replication slot',
  ),
  // ---- backups (pgBackRest runner) --------------------------------------------------------
  backupLastSuccess: m(
    'backup_last_success_timestamp_seconds',
    'gauge',
    'backup',
    TYPE,
    'when the last successful backup of this type (full, diff, incr) finished, Unix time',
  ),
  backupLastFailure: m(
    'backup_last_failure_timestamp_seconds',
    'gauge',
    'backup',
    TYPE,
    'when the last failed backup of this type finished, Unix time',
  ),
  backupDuration: m(
    'backup_duration_seconds',
    'gauge',
    'backup',
    TYPE,
    'duration of the last successful backup of this type',
  ),
  backupSize: m(
    'backup_size_bytes',
    'gauge',
    'backup',
    TYPE,
    'size of the last successful backup of this type in the repository',
  ),
  // pg_stat_archiver's counts as gauges: they restart with the node (and after a failover)
  walArchiveFailed: m(
    'wal_archive_failed_total',
    'gauge',
    'backup',
    NODE,
    'failed archive_command runs on the primary since it started (pg_stat_archiver.failed_count)',
  ),
  walArchived: m(
    'wal_archived_total',
    'gauge',
    'backup',
    NODE,
    'WAL segments archived by the primary since it started (pg_stat_archiver.archived_count)',
  ),
} as const;

export type MetricKey = keyof typeof METRICS;

/** Every catalogue entry, in catalogue order. */
export const METRIC_LIST: readonly MetricSpec[] = Object.values(METRICS);

/** Node.js process metrics exported by every pgvigil process (prom-client defaults). */
export const DEFAULT_METRICS_PREFIX = 'pgvigil_';

/**
 * How often the Node.js default metrics sample event-loop delay (prom-client
 * `eventLoopMonitoringPrecision`, a libuv timer). At 10 ms (prom-client's default) and still at
 * 100 ms these wake-ups outnumbered an idle agent's own (2 ticks a second): 100 ms cost a bare
 * process 0.05 % of a core over 1000 ms (`bench:idle`, README). Any stall longer than this is
 * recorded; shorter ones only when a sample falls inside them.
 */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** The README table of the catalogue (checked by a unit test). */
export function metricsMarkdown(): string {
  const rows = METRIC_LIST.map(
    (s) =>
      `| \`${s.name}\` | ${s.type} | ${s.labels.map((l) => `\`${l}\``).join(', ') || '-'} | ${s.source} | ${s.help} |`,
  );
  return [
    '| metric | type | labels | exported by | meaning |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
