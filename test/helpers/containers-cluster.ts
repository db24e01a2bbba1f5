/**
 * The `containers` cluster provider (cluster.ts): a cluster of the images docker-compose.yml
 * builds (pgvigil-node, pgvigil-sentinel; redis:7-bookworm), started through testcontainers on
 * the Docker engine DOCKER_HOST names, one network of its own. `npm run test:containers`
 * starts that engine (test/containers/engine.ts: link-local addresses, no NAT) and builds the
 * images, then runs scenarios with PGVIGIL_TEST_PROVIDER=containers.
 *
 * Same shape as the compose stack: three Redis servers with a password, pg1 initialised as the
 * primary, pg2..pgN cloned from it (the node image's entrypoint), one agent per node as the
 * container's main process, sentinels with the API token; the config is config/compose's with
 * the nodes of this cluster. The test process reaches every container at its address on that
 * network. testcontainers' reaper (Ryuk) is an image no registry here serves: it is off
 * (TESTCONTAINERS_RYUK_DISABLED) and `down()` removes every container and the network itself;
 * the engine's own teardown removes whatever a crashed run left.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  GenericContainer,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';
import YAML from 'yaml';

import { RedisCoordinationStore } from '../../src/adapters/redis/store.js';
import type { StampedEvent } from '../../src/core/events.js';
import type { ClusterHandle, ClusterOptions } from './cluster.js';
import { eventually } from './pg.js';

const root = join(import.meta.dirname, '../..');
export const IMAGES = {
  node: 'pgvigil-node:latest',
  sentinel: 'pgvigil-sentinel:latest',
  redis: 'redis:7-bookworm',
};
const CONFIG = '/etc/pgvigil/pgvigil.yaml';
const SECRETS = {
  PGVIGIL_CLUSTERS__MAIN__PASSWORD: 'ctr-postgres-secret',
  PGVIGIL_CLUSTERS__MAIN__REPLICATION__PASSWORD: 'ctr-replication-secret',
  PGVIGIL_SENTINEL__API__TOKEN: 'ctr-api-token',
  PGVIGIL_COORDINATION__PASSWORD: 'ctr-redis-secret',
};

/** config/compose/pgvigil.yaml with this cluster's nodes and Redis servers */
function configText(nodes: string[], redis: string[]): string {
  const doc = YAML.parse(readFileSync(join(root, 'config/compose/pgvigil.yaml'), 'utf8')) as {
    sentinels: number;
    coordination: { redis: string[] };
    clusters: { initialPrimary: string; preferredPrimary: string; nodes: unknown[] }[];
  };
  doc.coordination.redis = redis.map((r) => `redis://${r}:6379`);
  const c = doc.clusters[0]!;
  c.initialPrimary = c.preferredPrimary = nodes[0]!;
  c.nodes = nodes.map((name) => ({
    name,
    host: name,
    port: 5432,
    dataDir: '/var/lib/postgresql/data',
    agent: { url: `http://${name}:8008` },
  }));
  return YAML.stringify(doc);
}

export async function startContainersCluster(o: ClusterOptions): Promise<ClusterHandle> {
  if (!process.env.DOCKER_HOST)
    throw new Error(
      'PGVIGIL_TEST_PROVIDER=containers needs DOCKER_HOST (the engine npm run test:containers starts, with its images built)',
    );
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const started: StartedTestContainer[] = [];
  let network: StartedNetwork | undefined;
  let store: RedisCoordinationStore | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  const down = async () => {
    await unsubscribe?.().catch(() => undefined);
    await store?.close().catch(() => undefined);
    // sentinels first (they would act on what goes away), then agents, then Redis
    for (const c of [...started].reverse())
      await c.stop({ timeout: 2_000, remove: true, removeVolumes: true }).catch(() => undefined);
    await network?.stop().catch(() => undefined);
  };
  try {
    network = await new Network().start();
    const net = network;
    const nodes = Array.from({ length: o.nodes }, (_, i) => `pg${i + 1}`);
    const redisNames = ['redis1', 'redis2', 'redis3'];
    const config = configText(nodes, redisNames);
    const ipOf = (c: StartedTestContainer) => c.getIpAddress(net.getName());
    const base = (image: string, name: string) =>
      new GenericContainer(image)
        .withNetwork(net)
        .withNetworkAliases(name)
        .withHostname(name)
        .withLabels({ 'org.pgvigil.test': 'containers-provider' })
        .withStartupTimeout(180_000);
    const start = async (c: GenericContainer) => {
      const s = await c.start();
      started.push(s);
      return s;
    };

    const redis = await Promise.all(
      redisNames.map((name) =>
        start(
          base(IMAGES.redis, name)
            .withEnvironment({ REDIS_PASSWORD: SECRETS.PGVIGIL_COORDINATION__PASSWORD })
            // the password on stdin, never the command line (as docker-compose.yml)
            .withCommand([
              'sh',
              '-c',
              'printf \'requirepass %s\\n\' "$REDIS_PASSWORD" | exec redis-server -',
            ])
            .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/)),
        ),
      ),
    );
    // the images' HEALTHCHECK with docker's probe timeout raised: Docker 20.10 stops probing
    // a container for good once one probe times out (a node process can take 3 s to start on
    // a loaded machine); healthcheck.mjs gives up after 2 s on its own
    const health = (url: string) => ({
      test: ['CMD', 'node', '/opt/pgvigil/healthcheck.mjs', url] as ['CMD', ...string[]],
      interval: 2_000,
      timeout: 60_000,
      retries: 60,
      startPeriod: 120_000,
    });
    const node = (name: string, env: Record<string, string>) =>
      base(IMAGES.node, name)
        .withEnvironment({ ...SECRETS, ...env, AGENT_HEALTH_ADDR: `${name}:8008` })
        .withCopyContentToContainer([{ content: config, target: CONFIG }])
        .withCommand(['agent', '--config', CONFIG, '--node', name])
        .withHealthCheck(health(`http://${name}:8008/health`))
        .withWaitStrategy(Wait.forHealthCheck());
    const sentinel = (id: string) =>
      base(IMAGES.sentinel, id)
        .withEnvironment(SECRETS)
        .withCopyContentToContainer([{ content: config, target: CONFIG }])
        .withCommand(['sentinel', '--config', CONFIG, '--id', id])
        .withHealthCheck(health('http://127.0.0.1:8088/health'))
        .withWaitStrategy(Wait.forHealthCheck());
    // the primary answers once a sentinel has published the first topology: start them together
    const ids = Array.from({ length: o.sentinels }, (_, i) => `sentinel${i + 1}`);
    const [primary, ...sentinels] = await Promise.all([
      start(node(nodes[0]!, { INIT_PRIMARY: 'true' })),
      ...ids.map((id) => start(sentinel(id))),
    ]);
    const standbys = await Promise.all(
      nodes.slice(1).map((n) => start(node(n, { INIT_STANDBY_FROM: nodes[0]! }))),
    );
    const byName = new Map<string, StartedTestContainer>(
      [primary!, ...standbys].map((c, i) => [nodes[i]!, c]),
    );

    store = new RedisCoordinationStore({
      urls: redis.map((r) => `redis://${ipOf(r)}:6379`),
      prefix: 'pgvigil',
      commandTimeoutMs: 1000,
      auth: { password: SECRETS.PGVIGIL_COORDINATION__PASSWORD },
    });
    await store.ready(5000);
    const cluster = 'main';
    const events: StampedEvent[] = [];
    unsubscribe = await store.subscribe(cluster, (e) => events.push(e));
    const s = store;
    // as the native provider (localUp): the handle is returned once the first topology is
    // committed. The sentinels bootstrap only when every node answers, and the standbys start
    // cloning after them, so a scenario that read the topology at once could find none (it
    // did in one CI run: "expected undefined to be 'pg1'")
    await eventually(
      async () => ((await s.readTopology(cluster)).value ? true : undefined),
      120_000,
      250,
    );
    return {
      provider: 'containers',
      cluster,
      store: s,
      events,
      nodes,
      node: (name) => {
        const c = byName.get(name);
        if (!c) throw new Error(`no node ${name}`);
        return {
          name,
          conn: {
            host: ipOf(c),
            port: 5432,
            user: 'postgres',
            database: 'postgres',
            password: SECRETS.PGVIGIL_CLUSTERS__MAIN__PASSWORD,
            ssl: false,
          },
          advertised: { host: name, port: 5432 },
        };
      },
      sentinelApis: sentinels.map((c) => `http://${ipOf(c)}:8088`),
      topology: async () => (await s.readTopology(cluster)).value,
      killPostgres: async (name) => {
        const c = byName.get(name);
        if (!c) throw new Error(`no node ${name}`);
        // the postmaster, not the agent (the container's main process): as a crash of postgres
        const r = await c.exec(['sh', '-c', 'kill -KILL "$(head -n 1 "$PGDATA/postmaster.pid")"']);
        if (r.exitCode !== 0) throw new Error(`kill postgres of ${name}: ${r.output}`);
      },
      down,
    };
  } catch (err) {
    await down();
    throw err;
  }
}
