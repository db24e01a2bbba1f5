/**
 * The resolved, frozen configuration. Produced only by `loadConfig()` (schema.ts + load.ts),
 * which holds every default and cross-field rule. It builds on the slices core declares
 * (core/spec.ts): core never sees a secret.
 */
import type { ClusterSpec, NodeSpec, Timing } from '../core/spec.js';
import type { PgTls, RedisTls } from '../core/tls.js';

export type { ClusterSpec, NodeSpec, Timing };
export type NodeConfig = NodeSpec;

/**
 * A cluster as the commands that only talk to Redis load it (`loadConfig({ postgresSecrets:
 * false })`): every key but the PostgreSQL passwords, which were neither read nor required.
 */
export interface ClusterSettings extends ClusterSpec {
  database: string;
  /** superuser-level account the sentinels probe and control with */
  user: string;
  /** clusters[].tls, paths absolute (absent: no TLS) */
  tls?: PgTls;
  replication: {
    mode: 'async' | 'sync';
    user: string;
    /** always set by load.ts (schema defaults) */
    maxSlotWalKeepSize?: string;
    dropSlotAfterMs?: number;
    /** replication.tls, else the cluster's tls */
    tls?: PgTls;
  };
}

/** A cluster with the credentials the adapters connect with. */
export interface ClusterConfig extends ClusterSettings {
  password: string;
  replication: ClusterSettings['replication'] & { password: string };
}

/**
 * The configuration without the PostgreSQL passwords (`loadConfig({ postgresSecrets: false })`),
 * enough for `status`, `events`, `pause`/`resume` and the intents, which talk only to Redis.
 */
export interface CoordinationConfig {
  /** directory of the config file; relative paths in it are resolved against this */
  baseDir: string;
  /** number of sentinels configured in this sentinel set (quorum must be a majority of it) */
  sentinels: number;
  sentinel: {
    /** absent: the id kept in `idFile` (created once, see src/config/sentinel-id.ts) */
    id?: string;
    /** file holding the generated id (default `<baseDir>/sentinel.id`) */
    idFile?: string;
    /** the configured sentinel ids; votes and presence of any other id are ignored (empty: any) */
    peers: string[];
    api: { host: string; port: number; token?: string };
  };
  coordination: {
    prefix: string;
    redis: string[]; // 1, 3 or 5 independent servers
    /** Redis AUTH user (absent: `default`) */
    username?: string;
    /** Redis AUTH password (passwordFile / PGVIGIL_COORDINATION__PASSWORD / secretsFile) */
    password?: string;
    /** coordination.tls, paths absolute: used by rediss:// servers */
    tls?: RedisTls;
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
  backup: BackupConfig;
  clusters: ClusterSettings[];
}

/** `backup:` of the config file, paths absolute. */
export interface BackupConfig {
  enabled: boolean;
  repository: string;
  workDir: string;
  options: Readonly<Record<string, string>>;
  retentionFull: number;
  fromStandby: boolean;
  /**
   * pgBackRest is given only the nodes on this machine (loopback hosts, a host equal to this
   * machine's hostname, an agent's own node): a backup runs on the primary's machine, whose
   * agent runs the schedule; a sentinel with no local node relays POST /backups to the agents
   */
  localOnly: boolean;
  archiveTimeoutS: number;
  schedule: { full: string; incr: string; diff: string };
}

/** The full configuration, PostgreSQL passwords included (what `sentinel` and `agent` load). */
export interface Config extends CoordinationConfig {
  clusters: ClusterConfig[];
}
