/**
 * `pgvigil sentinel`: the composition root of the sentinel process (as Patroni's __main__.py):
 * it builds the adapters from the config (Redis store, a Postgres adapter per cluster, the
 * agent client, metrics, logger), hands them to the runtime, binds the admin API first (a busy
 * port fails start-up before anything acts), then starts the loops; on SIGTERM/SIGINT it stops
 * them and closes what it built. Invalid config stops start-up before anything is touched.
 */
import { AgentClient } from '../adapters/http/agent-client.js';
import { assertSafeBind, buildSentinelApi, listenOn } from '../adapters/http/api.js';
import { createLogger } from '../adapters/logging/logger.js';
import { SentinelMetrics } from '../adapters/metrics/metrics.js';
import { checkPersistence } from '../adapters/redis/persistence.js';
import { loadConfigWithWarnings, resolveConfigPath } from '../config/load.js';
import { resolveSentinelId } from '../config/sentinel-id.js';
import { clusterSpec } from '../config/slices.js';
import type { Config } from '../config/types.js';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { Logger } from '../ports/logger.js';
import { systemClock } from '../runtime/clock.js';
import { Sentinel } from '../runtime/sentinel/sentinel.js';
import { packageVersion } from '../version.js';
import { pgAdapterFor, redisAuthOf, redisStoreFor } from './adapters.js';
import { sentinelBackups } from './backup-service.js';
import { sentinelFenceApi } from './fence.js';
import { preflightPostgres, preflightRedis } from './preflight.js';
import { testUnsafe } from './test-unsafe.js';

/** Wrong TLS files, CA, client certificate or password: one line, before anything starts. */
async function preflight(config: Config): Promise<void> {
  await preflightRedis(config, redisAuthOf(config), redactSecrets);
  await preflightPostgres(
    config.clusters.map((cluster, index) => ({ cluster, index })),
    config.timing.connectTimeoutMs,
  );
}

export async function runSentinel(opts: {
  config?: string;
  id?: string;
  apiPort?: number;
}): Promise<void> {
  const file = resolveConfigPath(opts.config);
  const overrides = {
    sentinel: {
      ...(opts.id ? { id: opts.id } : {}),
      ...(opts.apiPort ? { api: { port: opts.apiPort } } : {}),
    },
  };
  const { config, warnings } = loadConfigWithWarnings({ file, overrides });
  assertSafeBind(config.sentinel.api.host, config.sentinel.api.token);
  await preflight(config);
  const resolved = resolveSentinelId({ ...config.sentinel, baseDir: config.baseDir });
  const { peers } = config.sentinel;
  if (peers.length > 0 && !peers.includes(resolved.id))
    throw new UserError(
      `sentinel id ${JSON.stringify(resolved.id)}${resolved.file ? ` (from ${resolved.file})` : ''} is not in sentinel.peers (${peers.join(', ')}): set sentinel.id or add it to sentinel.peers`,
    );
  const log = createLogger({ level: config.log.level, process: resolved.id, role: 'sentinel' });
  for (const w of warnings) log.warn({ config: file }, w);
  log.info({ sentinel: resolved.id, source: resolved.source, file: resolved.file }, 'sentinel id');
  if (peers.length === 0)
    log.warn(
      { sentinel: resolved.id },
      'sentinel.peers not set: votes from any sentinel id count toward the quorum',
    );
  void warnUnpersisted(config, log);
  const process_ = await startSentinel(config, resolved.id, log);
  log.info({ config: file, clusters: config.clusters.map((c) => c.name) }, 'sentinel started');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log.info('sentinel stopping');
  await process_.stop();
}

/** Build, bind, start. On a start-up error nothing is left running. */
async function startSentinel(
  config: Config,
  sentinelId: string,
  log: Logger,
): Promise<{ stop(): Promise<void> }> {
  const { host, port, token } = config.sentinel.api;
  const store = redisStoreFor(config, { logger: log });
  const appName = `pgvigil-sentinel-${sentinelId}`;
  const pgs = new Map(
    config.clusters.map((c) => [c.name, pgAdapterFor(c, config.timing, appName)]),
  );
  const metrics = new SentinelMetrics(undefined, {
    quorum: Object.fromEntries(config.clusters.map((c) => [c.name, c.quorum])),
    liveSentinels: {
      clusters: config.clusters.map((c) => c.name),
      count: async (c) => (await store.readPresence(c)).value.length,
    },
  });
  const sentinel = new Sentinel({
    sentinelId,
    peers: config.sentinel.peers,
    ...testHooks(log),
    ...unsafeSwitches(log),
    timing: config.timing,
    clusters: config.clusters.map(clusterSpec),
    store,
    pg: (name) => pgs.get(name)!,
    slots: (name) => pgs.get(name)!,
    metrics,
    agents: new AgentClient({ token }),
    log,
    clock: systemClock,
    apiUrl: `http://${host}:${port}`,
    version: packageVersion(),
  });
  const backups = sentinelBackups(config, store, log, metrics.registry);
  const api = buildSentinelApi({
    host,
    port,
    ...(token ? { token } : {}),
    registry: metrics.registry,
    clusters: sentinel.loops.map((l) => l.name),
    health: () => sentinel.health(),
    topology: async (c) => sentinel.topology(c),
    status: async (c) => sentinel.loop(c).view(),
    events: async (c, since, count) => store.readHistory(c, since, count),
    intents: {
      failover: (c, body, meta) => sentinel.submit('failover', c, body, meta.requestedBy),
      failback: (c, body, meta) => sentinel.submit('failback', c, body, meta.requestedBy),
      switchover: (c, body, meta) => sentinel.submit('switchover', c, body, meta.requestedBy),
    },
    ...(backups ? { backups: backups.api } : {}),
    fence: sentinelFenceApi(config, store, log, sentinelId),
  });
  const stop = async (): Promise<void> => {
    await sentinel.stop();
    await api.close();
    await backups?.close();
    await Promise.all([...pgs.values()].map((p) => p.close()));
    await store.close();
  };
  try {
    await listenOn(api, {
      what: 'sentinel API',
      host,
      port,
      hint: 'pick another with --api-port or sentinel.api.port',
    });
  } catch (err) {
    await stop().catch(() => undefined); // leave nothing running behind the error
    throw err;
  }
  log.info({ api: `http://${host}:${port}` }, 'admin API listening');
  // the first tick would find a TLS handshake still under way and report a lost majority
  await store.ready(Math.max(2000, config.timing.redisTimeoutMs));
  sentinel.start();
  return { stop };
}

/**
 * Test hook for fault scenarios: PGVIGIL_TEST_SIGSTOP_AFTER=<failover action> (e.g. `cas`) makes
 * this process SIGSTOP itself right after that action answered, so a test can resume it later
 * with SIGCONT, in the middle of a failover. Logged loudly; never set it in production.
 */
function testHooks(log: Logger): { afterAction?: (type: string) => void } {
  const after = process.env.PGVIGIL_TEST_SIGSTOP_AFTER;
  if (!after) return {};
  log.warn({ after }, 'test hook PGVIGIL_TEST_SIGSTOP_AFTER set: will SIGSTOP itself mid-failover');
  return {
    afterAction: (type) => {
      if (type !== after) return;
      log.warn({ after }, 'test hook: SIGSTOP now');
      process.kill(process.pid, 'SIGSTOP');
    },
  };
}

/** TEST-ONLY PGVIGIL_TEST_UNSAFE (test-unsafe.ts): rule 2 off, logged loudly. */
function unsafeSwitches(log: Logger): { unsafeSkipRule2?: boolean } {
  if (!testUnsafe().has('skip-rule2')) return {};
  log.warn('TEST-ONLY PGVIGIL_TEST_UNSAFE=skip-rule2: safety rule 2 is OFF (never in production)');
  return { unsafeSkipRule2: true };
}

/** Start-up warning for each coordination server without an append-only file (issue 7). */
async function warnUnpersisted(config: Config, log: Logger): Promise<void> {
  const list = await checkPersistence(
    config.coordination.redis,
    redisAuthOf(config),
    Math.max(config.timing.redisTimeoutMs, 1000),
  );
  for (const p of list)
    if (p.persists === false)
      log.warn(
        { server: p.server },
        `coordination server ${p.server} does not persist (${p.detail}): set appendonly yes`,
      );
}
