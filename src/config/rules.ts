/**
 * The cross-field rules, checked on the resolved `Config` (after the schema filled the
 * defaults and load.ts read the secrets). Each rule names the key it blames and, where it is
 * not obvious, the failure it prevents: a config that breaks one is refused, never adjusted.
 */
import { type ConfigIssue, envName } from './schema.js';
import type { ClusterSettings, Config, CoordinationConfig, Timing } from './types.js';

/**
 * How many independent Redis servers may be configured. An even count is refused, with no
 * override: a majority of 2k servers is k+1, so it survives k-1 failures, as 2k-1 servers do,
 * while it has one more server that can fail (2 servers survive no failure at all, worse than
 * 1). Above 5, every operation waits on more round trips for no case we need.
 */
export const REDIS_COUNTS: readonly number[] = [1, 3, 5];

type Add = (path: string, message: string) => void;

export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function validRedisUrl(u: string): boolean {
  try {
    const url = new URL(u);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * Every rule that spans keys, in this order (the first one is the one reported). Empty when the
 * config is acceptable. PostgreSQL passwords are not looked at (see `postgresSecretIssues`).
 */
export function crossFieldIssues(c: CoordinationConfig): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add: Add = (path, message) => {
    out.push({ path, message });
  };
  timingIssues(c.timing, add);
  coordinationIssues(c.coordination.redis, add);
  apiIssues(c.sentinel.api, add);
  peerIssues(c, add);
  const clusterNames = new Set<string>();
  c.clusters.forEach((cl, i) => {
    const p = `clusters[${i}]`;
    if (clusterNames.has(cl.name))
      add(`${p}.name`, `duplicate cluster name ${JSON.stringify(cl.name)}`);
    clusterNames.add(cl.name);
    clusterIssues(cl, p, c.sentinels, add);
  });
  nodeAddressIssues(c.clusters, add);
  if (c.backup.localOnly && c.backup.fromStandby)
    add(
      'backup.fromStandby',
      'backup.fromStandby needs the standby listed beside the primary: it cannot go with backup.localOnly (set one of them false)',
    );
  return out;
}

/** A cluster without a PostgreSQL password (`sentinel` and `agent` need one to connect). */
export function postgresSecretIssues(c: Config): ConfigIssue[] {
  return c.clusters.flatMap((cl, i) => {
    const p = `clusters[${i}]`;
    return cl.password
      ? []
      : [
          {
            path: `${p}.password`,
            message: `${p}.password is required: set PGVIGIL_CLUSTERS__${envName(cl.name)}__PASSWORD or passwordFile`,
          },
        ];
  });
}

/** Timing: detection must fit inside itself, or probes/votes/locks cannot work as designed. */
function timingIssues(t: Timing, add: Add): void {
  if (!(t.probeIntervalMs < t.refusedAfterMs))
    add(
      'timing.refusedAfterMs',
      `${t.refusedAfterMs} must be greater than probeIntervalMs=${t.probeIntervalMs} (at least one probe must fail first)`,
    );
  if (!(t.refusedAfterMs <= t.downAfterMs))
    add('timing.refusedAfterMs', `${t.refusedAfterMs} must be <= downAfterMs=${t.downAfterMs}`);
  for (const k of ['connectTimeoutMs', 'queryTimeoutMs'] as const) {
    if (!(t[k] < t.downAfterMs / 2))
      add(
        `timing.${k}`,
        `${t[k]} must be less than downAfterMs/2=${t.downAfterMs / 2} (a hung probe must not hide a dead primary)`,
      );
  }
  if (!(t.voteTtlMs >= t.downAfterMs))
    add(
      'timing.voteTtlMs',
      `${t.voteTtlMs} must be >= downAfterMs=${t.downAfterMs} (votes would expire before a quorum forms)`,
    );
  if (!(t.lockTtlMs > 2 * t.probeIntervalMs))
    add(
      'timing.lockTtlMs',
      `${t.lockTtlMs} must be greater than 2*probeIntervalMs=${2 * t.probeIntervalMs} (the leader would lose its lock between ticks)`,
    );
  if (!(t.presenceTtlMs > t.probeIntervalMs))
    add(
      'timing.presenceTtlMs',
      `${t.presenceTtlMs} must be greater than probeIntervalMs=${t.probeIntervalMs}`,
    );
  if (!(t.tiltGapMs > t.probeIntervalMs))
    add(
      'timing.tiltGapMs',
      `${t.tiltGapMs} must be greater than probeIntervalMs=${t.probeIntervalMs} (every tick would look like a pause)`,
    );
  if (!(t.lockTtlMs > t.redisTimeoutMs))
    add(
      'timing.lockTtlMs',
      `${t.lockTtlMs} must be greater than redisTimeoutMs=${t.redisTimeoutMs} (a lock won in one slow Redis round trip would have expired already)`,
    );
  leaseIssues(t, add);
}

/**
 * Rule 5 (DESIGN.md): the agent of a primary cut off from the Redis majority fences it (an
 * immediate stop: every session ends, no new one connects) before the sentinels on the other
 * side can promote another node, so two primaries never acknowledge writes at once. Both clocks
 * start when the partition does:
 * - the agent's lease runs `leaseMs` from when its last confirming read was sent (before the
 *   partition); a watchdog timer fires then, whatever the loop is doing, and the stop it sends
 *   must be done within `fenceMs`;
 * - a sentinel's last successful probe may precede the partition by one probe interval, so
 *   SDOWN, and at the earliest a promotion, comes `downAfterMs - probeIntervalMs` after it.
 *   (`refusedAfterMs` does not count: a refused connection means no PostgreSQL listens there,
 *   so it takes no write.)
 * Hence leaseMs + fenceMs + probeIntervalMs <= downAfterMs (votes, the lock and pg_promote come
 * on top: margin). Below, the lease must outlast one failed read after a normal agent interval,
 * or a single Redis timeout would fence a healthy primary.
 */
function leaseIssues(t: Timing, add: Add): void {
  const max = t.downAfterMs - t.fenceMs - t.probeIntervalMs;
  if (!(t.leaseMs <= max))
    add(
      'timing.leaseMs',
      `${t.leaseMs} is too long for downAfterMs=${t.downAfterMs}: an isolated primary must be fenced before the sentinels can promote another node, so leaseMs + fenceMs + probeIntervalMs must be <= downAfterMs, leaseMs <= ${t.downAfterMs}-${t.fenceMs}-${t.probeIntervalMs} = ${max} (shorten timing.leaseMs or timing.fenceMs, or lengthen timing.downAfterMs)`,
    );
  const min = t.agentIntervalMs + t.redisTimeoutMs;
  if (!(t.leaseMs > min))
    add(
      'timing.leaseMs',
      `${t.leaseMs} must be greater than agentIntervalMs + redisTimeoutMs = ${t.agentIntervalMs}+${t.redisTimeoutMs} = ${min} (one Redis read that times out would fence a healthy primary)`,
    );
}

/** Coordination: majorities need an odd count of independent servers. */
function coordinationIssues(redis: readonly string[], add: Add): void {
  const n = redis.length;
  if (!REDIS_COUNTS.includes(n))
    add(
      'coordination.redis',
      n % 2 === 0 && n > 0
        ? `${n} servers given: use 1, 3 or 5 independent Redis servers (a majority of ${n} is ${n / 2 + 1}, which survives no more failures than ${n - 1} servers do, with one more server to fail)`
        : `${n} servers given: use 1, 3 or 5 independent Redis servers`,
    );
  redis.forEach((u, i) => {
    if (!validRedisUrl(u))
      add(`coordination.redis[${i}]`, `${JSON.stringify(u)} is not a redis:// URL`);
    else if (redis.indexOf(u) !== i)
      add(`coordination.redis[${i}]`, `${u} is listed twice (servers must be independent)`);
  });
}

/** API: an open admin API without a token lets anyone fail the cluster over. */
function apiIssues(api: Config['sentinel']['api'], add: Add): void {
  if (!isLoopbackHost(api.host) && !api.token)
    add(
      'sentinel.api.token',
      `refusing to bind sentinel.api.host=${api.host} without sentinel.api.token`,
    );
}

/** One cluster (at `p`, e.g. `clusters[0]`): quorum, node names, primaries. */
function clusterIssues(cl: ClusterSettings, p: string, sentinels: number, add: Add): void {
  // Rule 1: a minority of sentinels must never be able to fail over.
  const majority = Math.floor(sentinels / 2) + 1;
  if (cl.quorum <= sentinels / 2)
    add(
      `${p}.quorum`,
      `quorum ${cl.quorum} is not a majority of sentinels=${sentinels}: set quorum >= ${majority}`,
    );
  else if (cl.quorum > sentinels)
    add(
      `${p}.quorum`,
      `quorum ${cl.quorum} exceeds sentinels=${sentinels}: failover could never happen`,
    );

  const nodeNames = new Set<string>();
  cl.nodes.forEach((n, j) => {
    if (nodeNames.has(n.name))
      add(
        `${p}.nodes[${j}].name`,
        `duplicate node name ${JSON.stringify(n.name)} in cluster ${cl.name}`,
      );
    nodeNames.add(n.name);
  });
  for (const k of ['initialPrimary', 'preferredPrimary'] as const) {
    const v = cl[k];
    if (v !== undefined && !nodeNames.has(v))
      add(
        `${p}.${k}`,
        `${JSON.stringify(v)} is not a node of cluster ${cl.name} (nodes: ${[...nodeNames].join(', ')})`,
      );
  }
}

/**
 * Every node, in every cluster, is its own PostgreSQL server with its own agent: two nodes at
 * one host:port would be probed, promoted and fenced as two (the same server judged twice, or a
 * typo hiding the real node), and one agent URL serves one node. Hosts compare as written
 * (lower case, IPv6 brackets dropped): names that resolve alike are not detected.
 */
function nodeAddressIssues(clusters: readonly ClusterSettings[], add: Add): void {
  const addresses = new Map<string, string>();
  const agents = new Map<string, string>();
  clusters.forEach((cl, i) => {
    cl.nodes.forEach((n, j) => {
      const at = `clusters[${i}].nodes[${j}]`;
      const here = `${at} (${n.name})`;
      const host = n.host
        .trim()
        .toLowerCase()
        .replace(/^\[(.*)\]$/, '$1');
      const address = `${host.includes(':') ? `[${host}]` : host}:${n.port}`;
      const other = addresses.get(address);
      if (other)
        add(
          `${at}.port`,
          `${address} is also ${other}: each node must be a PostgreSQL server of its own`,
        );
      else addresses.set(address, here);
      if (n.agent === undefined) return;
      const url = new URL(n.agent.url).href;
      const otherAgent = agents.get(url);
      if (otherAgent)
        add(
          `${at}.agent.url`,
          `${n.agent.url} is also the agent of ${otherAgent}: an agent serves one node`,
        );
      else agents.set(url, here);
    });
  });
}

/**
 * The configured sentinel set (`sentinel.peers`): distinct ids, as many as `sentinels` (the
 * quorum is checked against that number), and this sentinel's own id among them.
 */
function peerIssues(c: CoordinationConfig, add: Add): void {
  const { peers, id } = c.sentinel;
  if (peers.length === 0) return;
  const dup = peers.find((p, i) => peers.indexOf(p) !== i);
  if (dup !== undefined)
    add('sentinel.peers', `lists ${JSON.stringify(dup)} twice: list each sentinel id once`);
  else if (peers.length !== c.sentinels)
    add(
      'sentinel.peers',
      `lists ${peers.length} sentinel id(s) but sentinels=${c.sentinels}: make them agree`,
    );
  else if (id !== undefined && !peers.includes(id))
    add(
      'sentinel.id',
      `${JSON.stringify(id)} is not in sentinel.peers (${peers.join(', ')}): add it or fix the id`,
    );
}
