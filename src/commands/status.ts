import { checkPersistence } from '../adapters/redis/persistence.js';
import { CoordinationUnavailable } from '../core/errors.js';
import { fencedNodes } from '../core/fence-mark.js';
import { formatBytes } from '../core/format.js';
import type { NodeView, SentinelPresence, SlotView, Topology } from '../core/model.js';
import { redisAuthOf } from './adapters.js';
import { backupStatus } from './backup-status.js';
import { openStore, selectClusters } from './common.js';

export interface ClusterStatus {
  cluster: string;
  topology: Topology | null;
  paused: { paused: boolean; by?: string; reason?: string };
  sentinels: { id: string; leader: boolean; tilt: boolean; api: string | null; ageMs: number }[];
  leader: string | null;
  quorum: number;
  nodes: Record<string, NodeView>;
  /** the primary's replication slots and the WAL each retains (the leader's view) */
  slots: SlotView[];
  coordination: { answered: number; total: number };
  warnings: string[];
  /** the backup line (backup-status.ts), when backups ran */
  backup?: string;
}

/** `pgvigil status`: exit 0 when healthy, 2 without a coordination majority, 1 on warnings. */
export async function runStatus(opts: {
  config?: string;
  cluster?: string;
  json?: boolean;
}): Promise<number> {
  const { config, store } = await openStore(opts.config);
  try {
    const out: ClusterStatus[] = [];
    for (const c of selectClusters(config, opts.cluster)) {
      try {
        const [topology, presence, pause] = await Promise.all([
          store.readTopology(c.name, { every: true }),
          store.readPresence(c.name),
          store.readPause(c.name),
        ]);
        out.push(
          summarize(
            c.name,
            c.quorum,
            topology.value,
            presence.value,
            pause.value,
            { answered: topology.answered, total: topology.total },
            config.sentinel.peers,
          ),
        );
      } catch (err) {
        if (!(err instanceof CoordinationUnavailable)) throw err;
        const message = `${c.name}: ${err.message}; automatic failover is disabled until a majority is back`;
        if (opts.json)
          process.stdout.write(
            `${JSON.stringify({ cluster: c.name, error: 'no-coordination-majority', message })}\n`,
          );
        else process.stderr.write(`${message}\n`);
        return 2;
      }
    }
    const persistence = await checkPersistence(
      config.coordination.redis,
      redisAuthOf(config),
      1000,
    );
    const backups = await backupStatus(
      config,
      out.map((s) => s.cluster),
    );
    for (const s of out) {
      const b = backups.get(s.cluster);
      if (b) s.backup = b.line;
      if (b?.warning) s.warnings.push(b.warning);
    }
    if (opts.json) {
      const json = out.map((s) => ({
        coordination: persistence,
        ...(s.topology ?? { cluster: s.cluster, primary: null, epoch: 0 }),
        paused: s.paused.paused,
        fenced: fencedNodes(s.topology),
        leader: s.leader,
        sentinels: s.sentinels,
        lag: s.nodes,
        warnings: s.warnings,
      }));
      process.stdout.write(
        `${JSON.stringify(opts.cluster || json.length === 1 ? json[0] : json, null, 2)}\n`,
      );
    } else {
      for (const s of out) process.stdout.write(render(s));
      for (const p of persistence)
        if (p.persists === false)
          process.stdout.write(`  coordination ${p.server} does not persist (${p.detail})\n`);
    }
    return out.some((s) => s.warnings.length > 0) ? 1 : 0;
  } finally {
    await store.close();
  }
}

export function summarize(
  cluster: string,
  quorum: number,
  topology: Topology | null,
  presence: SentinelPresence[],
  pause: ClusterStatus['paused'],
  coordination: ClusterStatus['coordination'],
  peers: readonly string[] = [],
): ClusterStatus {
  const now = Date.now();
  const strangers = presence.filter((p) => peers.length > 0 && !peers.includes(p.id));
  presence = presence.filter((p) => !strangers.includes(p));
  const sentinels = presence
    .map((p) => ({ id: p.id, leader: p.leader, tilt: p.tilt, api: p.api, ageMs: now - p.atWall }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const leaderPresence = presence.find((p) => p.leader) ?? presence[0];
  const warnings: string[] = [];
  if (strangers.length > 0)
    warnings.push(
      `ignored presence of sentinel id(s) outside sentinel.peers: ${strangers.map((p) => p.id).join(', ')}`,
    );
  if (!topology) warnings.push('no topology committed yet: is a sentinel running?');
  if (sentinels.length < quorum)
    warnings.push(
      `only ${sentinels.length} live sentinel(s), fewer than quorum ${quorum}: no automatic failover possible`,
    );
  if (pause.paused)
    warnings.push(
      `paused${pause.by ? ` by ${pause.by}` : ''}${pause.reason ? ` (${pause.reason})` : ''}: no automatic failover`,
    );
  if (coordination.answered < coordination.total)
    warnings.push(
      `${coordination.total - coordination.answered} of ${coordination.total} Redis servers unreachable`,
    );
  if (topology && topology.state !== 'ok')
    warnings.push(`topology state ${topology.state}: ${topology.reason}`);
  return {
    cluster,
    topology,
    paused: pause,
    sentinels,
    leader: presence.find((p) => p.leader)?.id ?? null,
    quorum,
    nodes: leaderPresence?.view ?? {},
    slots: presence.find((p) => p.leader)?.slots ?? [],
    coordination,
    warnings,
  };
}

export function render(s: ClusterStatus): string {
  const t = s.topology;
  const lines = [
    `cluster ${s.cluster}: primary ${t?.primary ?? '?'}, epoch ${t?.epoch ?? 0}, state ${t?.state ?? 'unknown'}${s.paused.paused ? ', PAUSED' : ''}`,
  ];
  lines.push(
    `  ${'node'.padEnd(8)}${'role'.padEnd(10)}${'state'.padEnd(8)}${'lag'.padEnd(12)}lag(s)`,
  );
  for (const n of t?.nodes ?? []) {
    const v = s.nodes[n.name];
    const role = v?.role ?? n.role;
    const state = fencedNodes(t).includes(n.name) ? 'fenced' : v ? (v.up ? 'up' : 'down') : n.state;
    const lag = v?.lagBytes === null || v?.lagBytes === undefined ? '-' : formatBytes(v.lagBytes);
    const lagS =
      v?.lagSeconds === null || v?.lagSeconds === undefined ? '-' : v.lagSeconds.toFixed(2);
    lines.push(
      `  ${n.name.padEnd(8)}${(role + (n.name === t?.primary ? '*' : '')).padEnd(10)}${state.padEnd(8)}${lag.padEnd(12)}${lagS}`,
    );
  }
  const names = s.sentinels.map(
    (x) => `${x.id}${x.leader ? ' (leader)' : ''}${x.tilt ? ' (TILT)' : ''}`,
  );
  lines.push(
    `  sentinels: ${names.join(', ') || 'none'} - ${s.sentinels.length} live, quorum ${s.quorum}`,
  );
  for (const slot of s.slots)
    lines.push(
      `  slot ${slot.name}: ${slot.active ? 'active' : 'inactive'}, retains ${slot.retainedBytes === null ? '-' : formatBytes(slot.retainedBytes)}${slot.walStatus ? ` (${slot.walStatus})` : ''}`,
    );
  for (const f of fencedNodes(t))
    lines.push(`  fenced by the operator: ${f} (\`pgvigil unfence ${f}\` lifts it)`);
  if (s.backup) lines.push(s.backup);
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}
