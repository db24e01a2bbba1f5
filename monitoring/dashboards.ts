/**
 * The three pgvigil dashboards (cluster overview, replication, backups), each with a `cluster`
 * variable. Only metric names of src/adapters/metrics/catalogue.ts (test/unit/monitoring.test.ts
 * checks it) and Prometheus' own `up`.
 */
import { type DashboardSpec, JOBS, q } from './lib.js';

const C = 'cluster="$cluster"';
const ROLE = { '0': 'standby', '1': 'primary' };

export const overview: DashboardSpec = {
  uid: 'pgvigil-overview',
  title: 'pgvigil / cluster overview',
  file: 'overview.json',
  description: 'who is primary, epoch, failovers, the sentinel leader, down votes, quorum',
  panels: [
    {
      title: 'Current primary',
      kind: 'stat',
      description: 'the node the sentinels see answering as a primary',
      queries: [q(`max by (node) (pgvigil_node_is_primary{${C}}) == 1`, '{{node}}')],
    },
    {
      title: 'Topology epoch',
      kind: 'stat',
      description: 'epoch of the committed topology; every failover or switchover adds one',
      queries: [q(`max(pgvigil_topology_epoch{${C}})`, 'epoch')],
    },
    {
      title: 'Live sentinels / quorum',
      kind: 'stat',
      description: 'sentinels with a fresh presence on a Redis majority, against the quorum',
      queries: [
        q(`max(pgvigil_sentinels_live{${C}})`, 'live'),
        q(`max(pgvigil_cluster_quorum{${C}})`, 'quorum'),
        q(`count(up{job="${JOBS.sentinel}"} == 1)`, 'scraped'),
      ],
    },
    {
      title: 'Sentinel leader',
      kind: 'stat',
      description: 'the sentinel holding the leader lock',
      queries: [q(`max by (instance) (pgvigil_sentinel_is_leader{${C}}) == 1`, '{{instance}}')],
    },
    {
      title: 'Role of every node',
      kind: 'state-timeline',
      description: 'primary or standby over time, as the sentinels probe it',
      mappings: ROLE,
      width: 24,
      queries: [q(`max by (node) (pgvigil_node_is_primary{${C}})`, '{{node}}')],
    },
    {
      title: 'Nodes up',
      kind: 'state-timeline',
      description: 'the last probe of the node succeeded (worst view among sentinels)',
      mappings: { '0': 'down', '1': 'up' },
      queries: [q(`min by (node) (pgvigil_node_up{${C}})`, '{{node}}')],
    },
    {
      title: 'Fenced nodes',
      kind: 'state-timeline',
      description: 'a node its agent fenced read-only (lease lost, or an old primary)',
      mappings: { '0': 'writable', '1': 'fenced' },
      queries: [q(`max by (node) (pgvigil_node_fenced{${C}})`, '{{node}}')],
    },
    {
      title: 'Epoch over time',
      kind: 'timeseries',
      description: 'a step is a failover, switchover or failback',
      queries: [q(`max(pgvigil_topology_epoch{${C}})`, 'epoch')],
    },
    {
      title: 'Failovers',
      kind: 'timeseries',
      description: 'failovers and switchovers in the time range, by kind',
      queries: [q(`sum by (kind) (increase(pgvigil_failovers_total{${C}}[$__range]))`, '{{kind}}')],
    },
    {
      title: 'Down votes',
      kind: 'timeseries',
      description: 'fresh down votes about the primary, against the quorum',
      queries: [
        q(`max(pgvigil_down_votes{${C}})`, 'down votes'),
        q(`max(pgvigil_cluster_quorum{${C}})`, 'quorum'),
      ],
    },
    {
      title: 'Failover duration (p99)',
      kind: 'timeseries',
      unit: 's',
      description: 'decision to new primary writable and published',
      queries: [
        q(
          `histogram_quantile(0.99, sum by (le) (rate(pgvigil_failover_duration_seconds_bucket{${C}}[$__rate_interval])))`,
          'p99',
        ),
      ],
    },
    {
      title: 'Coordination majority',
      kind: 'timeseries',
      description: 'sentinels and agents that reach a Redis majority',
      queries: [
        q('sum(pgvigil_coordination_majority)', 'sentinels'),
        q(`sum(pgvigil_agent_coordination_majority{${C}})`, 'agents'),
      ],
    },
  ],
};

export const replication: DashboardSpec = {
  uid: 'pgvigil-replication',
  title: 'pgvigil / replication',
  file: 'replication.json',
  description: 'lag per standby, probe latency, WAL rates, replication slots',
  panels: [
    {
      title: 'Replay lag (bytes)',
      kind: 'timeseries',
      unit: 'bytes',
      description: "standby replay lag behind the primary, from the sentinels' probes",
      queries: [q(`max by (node) (pgvigil_replication_lag_bytes{${C}})`, '{{node}}')],
    },
    {
      title: 'Replay lag (seconds)',
      kind: 'timeseries',
      unit: 's',
      description: 'time since the last replayed transaction, 0 when caught up',
      queries: [q(`max by (node) (pgvigil_replication_lag_seconds{${C}})`, '{{node}}')],
    },
    {
      title: 'Receiver lag seen by the agent',
      kind: 'timeseries',
      unit: 'bytes',
      description: "the standby's own view: sender WAL end minus replayed",
      queries: [q(`max by (node) (pgvigil_agent_replication_lag_bytes{${C}})`, '{{node}}')],
    },
    {
      title: 'Probe latency',
      kind: 'timeseries',
      unit: 's',
      description: 'SQL probe duration per node, p50 and p99 over every sentinel',
      queries: [
        q(
          `histogram_quantile(0.5, sum by (node, le) (rate(pgvigil_probe_duration_seconds_bucket{${C}}[$__rate_interval])))`,
          'p50 {{node}}',
        ),
        q(
          `histogram_quantile(0.99, sum by (node, le) (rate(pgvigil_probe_duration_seconds_bucket{${C}}[$__rate_interval])))`,
          'p99 {{node}}',
        ),
      ],
    },
    {
      title: 'WAL rate',
      kind: 'timeseries',
      unit: 'Bps',
      description: 'WAL written (primary) or received (standby) per second',
      queries: [
        q(`max by (node) (rate(pgvigil_node_wal_lsn_bytes{${C}}[$__rate_interval]))`, '{{node}}'),
      ],
    },
    {
      title: 'WAL retained by replication slots',
      kind: 'timeseries',
      unit: 'bytes',
      description: "WAL the primary keeps for each slot; grows while the slot's standby is away",
      queries: [
        q(
          `max by (node, slot) (pgvigil_replication_slot_retained_bytes{${C}})`,
          '{{node}} {{slot}}',
        ),
      ],
    },
    {
      title: 'Replication slots active',
      kind: 'state-timeline',
      description: 'a receiver streams from the slot',
      mappings: { '0': 'inactive', '1': 'active' },
      width: 24,
      queries: [
        q(`max by (node, slot) (pgvigil_replication_slot_active{${C}})`, '{{node}} {{slot}}'),
      ],
    },
  ],
};

export const backups: DashboardSpec = {
  uid: 'pgvigil-backups',
  title: 'pgvigil / backups',
  file: 'backups.json',
  description: 'age of the last good backup per type, duration, size, WAL archiving',
  panels: [
    {
      title: 'Age of the last good backup',
      kind: 'stat',
      unit: 's',
      width: 12,
      description: 'per type (full, diff, incr): now minus when it finished',
      queries: [
        q('time() - max by (type) (pgvigil_backup_last_success_timestamp_seconds)', '{{type}}'),
      ],
    },
    {
      title: 'Last failed backup',
      kind: 'stat',
      unit: 'dateTimeFromNow',
      width: 12,
      description: 'when a backup of this type last failed',
      queries: [
        q('max by (type) (pgvigil_backup_last_failure_timestamp_seconds) * 1000', '{{type}}'),
      ],
    },
    {
      title: 'Backup duration',
      kind: 'timeseries',
      unit: 's',
      description: 'duration of the last successful backup, per type',
      queries: [q('max by (type) (pgvigil_backup_duration_seconds)', '{{type}}')],
    },
    {
      title: 'Backup size',
      kind: 'timeseries',
      unit: 'bytes',
      description: 'size of the last successful backup in the repository, per type',
      queries: [q('max by (type) (pgvigil_backup_size_bytes)', '{{type}}')],
    },
    {
      title: 'WAL archive failures',
      kind: 'timeseries',
      width: 24,
      description: 'archive_command failures in the time range, per node',
      queries: [
        q(`sum by (node) (increase(pgvigil_wal_archive_failed_total{${C}}[$__range]))`, '{{node}}'),
      ],
    },
  ],
};

export const DASHBOARDS: readonly DashboardSpec[] = [overview, replication, backups];
