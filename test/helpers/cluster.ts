/**
 * The cluster provider of the scenario tests: one interface, two implementations, chosen by
 * PGVIGIL_TEST_PROVIDER.
 * - `native` (the default): the embedded local cluster (local.ts, `pgvigil local up`): real
 *   postgres, redis-server, agents and sentinels as processes on free ports.
 * - `containers`: the same parts as containers of the pgvigil-node and pgvigil-sentinel images
 *   (and redis:7-bookworm) through testcontainers, on the Docker engine DOCKER_HOST names
 *   (`npm run test:containers` starts one and builds the images; containers-cluster.ts).
 * A scenario written against ClusterHandle runs on either: it reaches nodes through `node()`,
 * sentinels through `sentinelApis`, the store and events as the sentinels see them, and crashes
 * a node's postgres with `killPostgres()`.
 */
import type { RedisCoordinationStore } from '../../src/adapters/redis/store.js';
import type { StampedEvent } from '../../src/core/events.js';
import type { Topology } from '../../src/core/model.js';
import { localKill } from '../../src/local/cluster.js';
import { startLocal, type TestNode } from './local.js';

/** A node as a scenario reaches it. */
export interface ClusterNode {
  name: string;
  /** pg.Client options from the test process, password included: never print them */
  conn: TestNode['conn'];
  /** host and port as the cluster's config names the node (what primary_conninfo holds) */
  advertised: { host: string; port: number };
}

export interface ClusterHandle {
  provider: ProviderName;
  /** the cluster's name (config, topology, metric labels) */
  cluster: string;
  store: RedisCoordinationStore;
  /** every event published since the start, in order */
  events: StampedEvent[];
  nodes: string[];
  node(name: string): ClusterNode;
  /** each sentinel's admin API base URL, as the test process reaches it */
  sentinelApis: string[];
  topology(): Promise<Topology | null>;
  /** SIGKILL the node's postmaster (its agent keeps running, as after a crash) */
  killPostgres(name: string): Promise<void>;
  down(): Promise<void>;
}

export interface ClusterOptions {
  nodes: number;
  sentinels: number;
}

export type ProviderName = 'native' | 'containers';

export function providerName(): ProviderName {
  const p = process.env.PGVIGIL_TEST_PROVIDER ?? 'native';
  if (p !== 'native' && p !== 'containers')
    throw new Error(`PGVIGIL_TEST_PROVIDER=${p}: use native (the default) or containers`);
  return p;
}

export async function startCluster(o: ClusterOptions): Promise<ClusterHandle> {
  if (providerName() === 'containers') {
    const { startContainersCluster } = await import('./containers-cluster.js');
    return startContainersCluster(o);
  }
  return startNativeCluster(o);
}

export async function startNativeCluster(o: ClusterOptions): Promise<ClusterHandle> {
  const h = await startLocal({ nodes: o.nodes, sentinels: o.sentinels });
  return {
    provider: 'native',
    cluster: h.state.cluster,
    store: h.store,
    events: h.events,
    nodes: h.state.nodes.map((n) => n.name),
    node: (name) => {
      const n = h.node(name);
      return { name, conn: n.conn, advertised: { host: n.host, port: n.port } };
    },
    sentinelApis: h.state.sentinels.map((s) => s.api),
    topology: () => h.topology(),
    killPostgres: async (name) => {
      await localKill({ dir: h.state.dir, name, signal: 'KILL' });
    },
    down: () => h.down(),
  };
}
