/**
 * The one place that knows the shape of the config file. With `defaults.ts` (every default)
 * and `rules.ts` (every cross-field rule) it is the schema; `load.ts` does the I/O (file,
 * secrets, environment) around it.
 *
 * Two stages:
 * 1. `RawConfigSchema` checks types, fills defaults (the timing defaults depend on
 *    `timing.profile`, so they are filled by a transform from `TIMING_DEFAULTS`), and refuses
 *    unknown keys. Values may arrive as strings (environment), so numbers, booleans and lists
 *    accept a string and coerce it.
 * 2. `crossFieldIssues()` (rules.ts) checks the rules that span keys on the resolved `Config`.
 */
import { z } from 'zod';

import { DEFAULT_SCHEDULE, parseCron } from '../core/backup/schedule.js';
import {
  DEFAULTS,
  FENCE_FACTOR,
  LEASE_FACTOR,
  TIMING_DEFAULTS,
  VOTE_TTL_FACTOR,
} from './defaults.js';
import type { Timing } from './types.js';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
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
  fenceMs: int(1).optional(),
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
      leaseMs: t.leaseMs ?? Math.round(LEASE_FACTOR * downAfterMs),
      fenceMs: t.fenceMs ?? Math.round(FENCE_FACTOR * downAfterMs),
      agentIntervalMs: t.agentIntervalMs ?? d.agentIntervalMs,
      switchoverTimeoutMs: t.switchoverTimeoutMs ?? d.switchoverTimeoutMs,
      intentTimeoutMs: t.intentTimeoutMs ?? d.intentTimeoutMs,
    };
  });

/** Client certificate and key come together. */
function certWithKey(
  t: { cert?: string | undefined; key?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if ((t.cert === undefined) !== (t.key === undefined))
    ctx.addIssue({
      code: 'custom',
      path: [t.cert === undefined ? 'cert' : 'key'],
      message: 'a client certificate needs its key: give both cert and key, or neither',
    });
}

/** clusters[].tls: libpq's sslmode and files (paths relative to the config file). */
const PgTlsSchema = z
  .strictObject({
    sslmode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('verify-full'),
    ca: nonEmpty.optional(),
    cert: nonEmpty.optional(),
    key: nonEmpty.optional(),
  })
  .superRefine((t, ctx) => {
    certWithKey(t, ctx);
    if ((t.sslmode === 'verify-ca' || t.sslmode === 'verify-full') && t.ca === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['ca'],
        message: `sslmode ${t.sslmode} needs ca (the CA file the server certificate must chain to)`,
      });
  });

/** coordination.tls: the CA of the rediss:// servers, and a client certificate if they ask one. */
const RedisTlsSchema = z
  .strictObject({
    ca: nonEmpty.optional(),
    cert: nonEmpty.optional(),
    key: nonEmpty.optional(),
  })
  .superRefine(certWithKey);

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
  /** TLS of every connection to the nodes (absent: none) */
  tls: PgTlsSchema.optional(),
  replication: z
    .strictObject({
      mode: z.enum(['async', 'sync']).default(DEFAULTS.replicationMode),
      user: nonEmpty.default(DEFAULTS.replicationUser),
      /** max_slot_wal_keep_size on the primary: a dead standby's slot never fills the disk */
      maxSlotWalKeepSize: z
        .string()
        .regex(/^(-1|\d+(kB|MB|GB|TB))$/, 'must be -1 or a size such as 512MB or 1GB')
        .default(DEFAULTS.maxSlotWalKeepSize),
      /** drop the slot of a node unreachable for this long (ms) */
      dropSlotAfterMs: int(1000).default(DEFAULTS.dropSlotAfterMs),
      password: z.string().optional(),
      passwordFile: nonEmpty.optional(),
      /** TLS of replication connections (absent: the cluster's tls) */
      tls: PgTlsSchema.optional(),
    })
    .prefault({}),
  nodes: z.array(NodeSchema).min(1, 'needs at least one node'),
});

const cron = (dflt: string) =>
  nonEmpty.default(dflt).refine((v) => typeof parseCron(v) !== 'string', {
    error: (i) => String(parseCron(String(i.input))),
  });

/** Backups on pgBackRest (DESIGN.md, Backups); paths relative to the config file. */
const BackupSchema = z.strictObject({
  /** agents (and sentinels) run the schedule and keep archive_command set */
  enabled: bool.default(false),
  repository: nonEmpty.default('./backups'),
  /** config file, lock, log and spool of pgBackRest (default `<repository>/../.pgvigil-backup`) */
  workDir: nonEmpty.optional(),
  /** extra pgBackRest [global] options passed through, e.g. repo1-type: s3 */
  options: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).default({}),
  retentionFull: int(1).default(2),
  fromStandby: bool.default(false),
  /** pgBackRest gets only this machine's nodes (no SSH/TLS between hosts): backups run on the primary's machine */
  localOnly: bool.default(false),
  archiveTimeoutS: int(1).default(60),
  schedule: z
    .strictObject({
      full: cron(DEFAULT_SCHEDULE.full),
      incr: cron(DEFAULT_SCHEDULE.incr),
      diff: cron(DEFAULT_SCHEDULE.diff),
    })
    .prefault({}),
});

export const RawConfigSchema = z.strictObject({
  /** dotenv-style file of PGVIGIL_...=value lines (environment overrides, below the real env) */
  secretsFile: nonEmpty.optional(),
  sentinels: int(1).default(DEFAULTS.sentinels),
  sentinel: z
    .strictObject({
      /** stable id (absent: read from idFile, created once with a generated id) */
      id: nonEmpty.optional(),
      /** where a generated id is kept (default `sentinel.id` beside the config file) */
      idFile: nonEmpty.optional(),
      /** the configured sentinel set: votes and presence of other ids are ignored (empty: any) */
      peers: z.array(nonEmpty).default([]),
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
      /** Redis AUTH: an ACL user (absent: `default`, the user `requirepass` sets) */
      username: nonEmpty.optional(),
      password: z.string().optional(),
      passwordFile: nonEmpty.optional(),
      /** used by rediss:// servers (CA verification always on) */
      tls: RedisTlsSchema.optional(),
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
  backup: BackupSchema.prefault({}),
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
// Problems and key names (for load.ts, env.ts and rules.ts)

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
