/**
 * The one place that knows the shape of the config file, every default, and every
 * cross-field rule. `load.ts` does the I/O (file, secrets, environment) around it.
 *
 * Two stages:
 * 1. `RawConfigSchema` checks types, fills defaults (the timing defaults depend on
 *    `timing.profile`, so they are filled by a transform from `TIMING_DEFAULTS`), and refuses
 *    unknown keys. Values may arrive as strings (environment), so numbers, booleans and lists
 *    accept a string and coerce it.
 * 2. `crossFieldIssues()` checks the rules that span keys on the resolved `Config`.
 */
import os from 'node:os';

import { z } from 'zod';

import type { Config, Timing } from './types.js';

// ---------------------------------------------------------------------------------------------
// Defaults (every one of them lives here)

/**
 * Timing defaults per profile. `default` is LAN-tuned for p50 <= 2 s crash-to-write; `fast`
 * reaches p50 <= 1 s but reacts to shorter stalls (GC pauses, network blips), so the risk of
 * a false failover rises. Explicit keys in the file or environment always win over a profile.
 */
export const TIMING_DEFAULTS: Readonly<
  Record<Timing['profile'], Readonly<Omit<Timing, 'profile' | 'voteTtlMs'>>>
> = {
  default: {
    probeIntervalMs: 300,
    downAfterMs: 3000,
    refusedAfterMs: 1000,
    connectTimeoutMs: 1000,
    queryTimeoutMs: 1000,
    presenceTtlMs: 5000,
    lockTtlMs: 4000,
    cooldownMs: 60_000,
    tiltGapMs: 2000,
    tiltMs: 10_000,
    promoteTimeoutMs: 10_000,
    redisTimeoutMs: 500,
    leaseMs: 5000,
    agentIntervalMs: 500,
    switchoverTimeoutMs: 10_000,
    intentTimeoutMs: 30_000,
  },
  fast: {
    probeIntervalMs: 100,
    downAfterMs: 1000,
    refusedAfterMs: 300,
    connectTimeoutMs: 300,
    queryTimeoutMs: 300,
    presenceTtlMs: 5000,
    lockTtlMs: 2000,
    cooldownMs: 60_000,
    tiltGapMs: 1000,
    tiltMs: 10_000,
    promoteTimeoutMs: 10_000,
    redisTimeoutMs: 250,
    leaseMs: 3000,
    agentIntervalMs: 200,
    switchoverTimeoutMs: 10_000,
    intentTimeoutMs: 30_000,
  },
};
/** A down vote outlives one detection window, so votes from sentinels out of phase overlap. */
export const VOTE_TTL_FACTOR = 2;

export const DEFAULTS = {
  sentinels: 3,
  sentinelId: (): string => `${os.hostname()}-${process.pid}`,
  apiHost: '127.0.0.1',
  apiPort: 8088,
  prefix: 'pgvigil',
  redis: ['redis://127.0.0.1:6379'],
  logLevel: 'info',
  quorum: 2,
  maxLagOnFailoverBytes: 16 * 1024 * 1024,
  database: 'postgres',
  user: 'postgres',
  replicationMode: 'async',
  replicationUser: 'replicator',
  priority: 100,
  noFailover: false,
} as const;

export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const REDIS_COUNTS: readonly number[] = [1, 3, 5];
const PORT_MAX = 65_535;

// ---------------------------------------------------------------------------------------------
// Coercing leaf types (the environment gives strings)

function int(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v.trim());
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be an integer ${range}, got ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    return n;
  });
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);
/** Not z.coerce.boolean(): that turns the string "false" into true. */
const bool = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const w = v.trim().toLowerCase();
  if (TRUE_WORDS.has(w)) return true;
  if (FALSE_WORDS.has(w)) return false;
  ctx.addIssue({ code: 'custom', message: `must be true or false, got ${JSON.stringify(v)}` });
  return z.NEVER;
});

const nonEmpty = z.string().trim().min(1, 'must not be empty');
const name = z
  .string()
  .regex(NAME_PATTERN, `must match ${String(NAME_PATTERN)} (lower case, digits, _ and -)`);
/** A YAML list, or a comma-separated string (environment). */
const stringList = z
  .union([z.array(z.string()), z.string()])
  .transform((v) =>
    (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter((s) => s !== ''),
  );

// ---------------------------------------------------------------------------------------------
// The raw file shape (secrets may be given as value, file, or environment)

const timingKeys = {
  probeIntervalMs: int(1).optional(),
  downAfterMs: int(1).optional(),
  refusedAfterMs: int(1).optional(),
  connectTimeoutMs: int(1).optional(),
  queryTimeoutMs: int(1).optional(),
  voteTtlMs: int(1).optional(),
  presenceTtlMs: int(1).optional(),
  lockTtlMs: int(1).optional(),
  cooldownMs: int(0).optional(),
  tiltGapMs: int(1).optional(),
  tiltMs: int(0).optional(),
  promoteTimeoutMs: int(1).optional(),
  redisTimeoutMs: int(1).optional(),
  leaseMs: int(1).optional(),
  agentIntervalMs: int(1).optional(),
  switchoverTimeoutMs: int(1).optional(),
  intentTimeoutMs: int(1).optional(),
};

const TimingSchema = z
  .strictObject({ profile: z.enum(['default', 'fast']).default('default'), ...timingKeys })
  .transform((t): Timing => {
    const d = TIMING_DEFAULTS[t.profile];
    const downAfterMs = t.downAfterMs ?? d.downAfterMs;
    return {
      profile: t.profile,
      probeIntervalMs: t.probeIntervalMs ?? d.probeIntervalMs,
      downAfterMs,
      refusedAfterMs: t.refusedAfterMs ?? d.refusedAfterMs,
      connectTimeoutMs: t.connectTimeoutMs ?? d.connectTimeoutMs,
      queryTimeoutMs: t.queryTimeoutMs ?? d.queryTimeoutMs,
      voteTtlMs: t.voteTtlMs ?? VOTE_TTL_FACTOR * downAfterMs,
      presenceTtlMs: t.presenceTtlMs ?? d.presenceTtlMs,
      lockTtlMs: t.lockTtlMs ?? d.lockTtlMs,
      cooldownMs: t.cooldownMs ?? d.cooldownMs,
      tiltGapMs: t.tiltGapMs ?? d.tiltGapMs,
      tiltMs: t.tiltMs ?? d.tiltMs,
      promoteTimeoutMs: t.promoteTimeoutMs ?? d.promoteTimeoutMs,
      redisTimeoutMs: t.redisTimeoutMs ?? d.redisTimeoutMs,
      leaseMs: t.leaseMs ?? d.leaseMs,
      agentIntervalMs: t.agentIntervalMs ?? d.agentIntervalMs,
      switchoverTimeoutMs: t.switchoverTimeoutMs ?? d.switchoverTimeoutMs,
      intentTimeoutMs: t.intentTimeoutMs ?? d.intentTimeoutMs,
    };
  });

const NodeSchema = z.strictObject({
  name,
  host: nonEmpty,
  port: int(1, PORT_MAX),
  priority: int(0).default(DEFAULTS.priority),
  noFailover: bool.default(DEFAULTS.noFailover),
  agent: z
    .strictObject({ url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }) })
    .optional(),
  dataDir: nonEmpty.optional(),
});

const ClusterSchema = z.strictObject({
  name,
  quorum: int(1).default(DEFAULTS.quorum),
  maxLagOnFailoverBytes: int(0).default(DEFAULTS.maxLagOnFailoverBytes),
  preferredPrimary: name.optional(),
  initialPrimary: name.optional(),
  database: nonEmpty.default(DEFAULTS.database),
  user: nonEmpty.default(DEFAULTS.user),
  password: z.string().optional(),
  passwordFile: nonEmpty.optional(),
  replication: z
    .strictObject({
      mode: z.enum(['async', 'sync']).default(DEFAULTS.replicationMode),
      user: nonEmpty.default(DEFAULTS.replicationUser),
      password: z.string().optional(),
      passwordFile: nonEmpty.optional(),
    })
    .prefault({}),
  nodes: z.array(NodeSchema).min(1, 'needs at least one node'),
});

export const RawConfigSchema = z.strictObject({
  /** dotenv-style file of PGVIGIL_...=value lines (environment overrides, below the real env) */
  secretsFile: nonEmpty.optional(),
  sentinels: int(1).default(DEFAULTS.sentinels),
  sentinel: z
    .strictObject({
      id: nonEmpty.default(DEFAULTS.sentinelId),
      api: z
        .strictObject({
          host: nonEmpty.default(DEFAULTS.apiHost),
          port: int(1, PORT_MAX).default(DEFAULTS.apiPort),
          token: z.string().optional(),
          tokenFile: nonEmpty.optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  coordination: z
    .strictObject({
      prefix: nonEmpty.default(DEFAULTS.prefix),
      redis: stringList.default([...DEFAULTS.redis]),
    })
    .prefault({}),
  timing: TimingSchema.prefault({}),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default(DEFAULTS.logLevel),
    })
    .prefault({}),
  agent: z
    .strictObject({
      keepOldDataDirs: bool.default(true),
      pgBinDir: nonEmpty.optional(),
      runAsUser: nonEmpty.default('postgres'),
    })
    .prefault({}),
  clusters: z.array(ClusterSchema).min(1, 'needs at least one cluster'),
});

/** What the file (plus environment and overrides) may contain. */
export type RawConfigInput = z.input<typeof RawConfigSchema>;
/** After stage 1: typed, defaults filled, secrets not yet read from their files. */
export type ParsedConfig = z.output<typeof RawConfigSchema>;

type DeepPartial<T> = T extends readonly (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
/** What `loadConfig({ overrides })` accepts: any part of the raw shape. Arrays replace. */
export type DeepPartialRaw = DeepPartial<RawConfigInput>;

/** Pairs of keys that give the same secret: setting one (env, overrides) drops the other. */
export const SECRET_PAIRS: readonly (readonly [string, string])[] = [
  ['password', 'passwordFile'],
  ['token', 'tokenFile'],
];

// ---------------------------------------------------------------------------------------------
// Cross-field rules (on the resolved Config)

export interface ConfigIssue {
  /** e.g. `clusters[0].quorum` */
  path: string;
  message: string;
}

/** `main` -> `MAIN`, `pg-1` -> `PG_1`: how a named array item is addressed in the environment. */
export function envName(s: string): string {
  return s.replace(/-/g, '_').toUpperCase();
}
/** `downAfterMs` -> `DOWN_AFTER_MS` */
export function upperSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

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

/** Every rule that spans keys. Empty when the config is acceptable. */
export function crossFieldIssues(c: Config): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const add = (path: string, message: string): void => {
    out.push({ path, message });
  };
  const t = c.timing;

  // Timing: detection must fit inside itself, or probes/votes/locks cannot work as designed.
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

  // Coordination: majorities need an odd count of independent servers.
  const redis = c.coordination.redis;
  if (!REDIS_COUNTS.includes(redis.length))
    add(
      'coordination.redis',
      `${redis.length} servers given: use 1, 3 or 5 independent Redis servers (a majority must be well defined)`,
    );
  redis.forEach((u, i) => {
    if (!validRedisUrl(u))
      add(`coordination.redis[${i}]`, `${JSON.stringify(u)} is not a redis:// URL`);
    else if (redis.indexOf(u) !== i)
      add(`coordination.redis[${i}]`, `${u} is listed twice (servers must be independent)`);
  });

  // API: an open admin API without a token lets anyone fail the cluster over.
  if (!isLoopbackHost(c.sentinel.api.host) && !c.sentinel.api.token)
    add(
      'sentinel.api.token',
      `refusing to bind sentinel.api.host=${c.sentinel.api.host} without sentinel.api.token`,
    );

  const clusterNames = new Set<string>();
  c.clusters.forEach((cl, i) => {
    const p = `clusters[${i}]`;
    if (clusterNames.has(cl.name))
      add(`${p}.name`, `duplicate cluster name ${JSON.stringify(cl.name)}`);
    clusterNames.add(cl.name);

    // Rule 1: a minority of sentinels must never be able to fail over.
    const majority = Math.floor(c.sentinels / 2) + 1;
    if (cl.quorum <= c.sentinels / 2)
      add(
        `${p}.quorum`,
        `quorum ${cl.quorum} is not a majority of sentinels=${c.sentinels}: set quorum >= ${majority}`,
      );
    else if (cl.quorum > c.sentinels)
      add(
        `${p}.quorum`,
        `quorum ${cl.quorum} exceeds sentinels=${c.sentinels}: failover could never happen`,
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
    if (!cl.password)
      add(
        `${p}.password`,
        `${p}.password is required: set PGVIGIL_CLUSTERS__${envName(cl.name)}__PASSWORD or passwordFile`,
      );
  });
  return out;
}
