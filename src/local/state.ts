/**
 * `<dir>/state.json`: every port, URL and PID `local up` started, so scripts, tests and the
 * other `local` commands can find them. It holds no secret (the passwords are in
 * `secretsFile` and `pgpassFile`: `localSecrets()` reads them); it is 0600 all the same, in
 * `<dir>` (0700). Written atomically (temp file + rename).
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';

import { pgSslOptions } from '../adapters/postgres/tls.js';
import { UserError } from '../core/errors.js';
import type { PgTls } from '../core/tls.js';
import type { AppRole } from './app-role.js';
import { type LocalSecrets, readSecretsFile, SECRETS_FILE, writePrivate } from './config-file.js';

export type { LocalSecrets } from './config-file.js';

export interface LocalNodeState {
  name: string;
  host: string;
  port: number;
  /**
   * postgres:// URL of the superuser, without the password: `PGPASSFILE=<pgpassFile> psql
   * "<url>"`, or add the password from `localSecrets()` to connect from code
   */
  url: string;
  dataDir: string;
  pid: number;
}

export interface LocalSentinelState {
  id: string;
  api: string;
  pid: number;
}

export interface LocalAgentState {
  node: string;
  /** the agent's API base URL (nodes[].agent.url) */
  api: string;
  pid: number;
}

export interface LocalRedisState {
  name: string; // redis-1, redis-2, ...
  /** without the password (AUTH: `localSecrets().redisPassword`) */
  url: string;
  port: number;
  pid: number;
}

export interface LocalState {
  cluster: string;
  dir: string;
  /** the config file every other command accepts with --config */
  config: string;
  /** first sentinel's API base URL */
  api: string;
  redis: string[];
  redisServers: LocalRedisState[];
  nodes: LocalNodeState[];
  sentinels: LocalSentinelState[];
  /** one node agent per node (absent in state files written before agents existed) */
  agents?: LocalAgentState[];
  /** the API bearer token file (sentinels and agents), when a token is set */
  tokenFile?: string;
  /** `--netns`: the namespaces, veths, bridge and addresses (netns.ts), written before creation */
  netnsFile?: string;
  /** `local up --tls`: the certificates' directory and how the superuser connects (verify-full) */
  tls?: { dir: string; ca: string; superuser: PgTls };
  /** the generated passwords (0600, the config's secretsFile): read it with localSecrets() */
  secretsFile: string;
  /** libpq password file of the superuser for every node (0600): PGPASSFILE */
  pgpassFile: string;
  /**
   * who `nodes[].url` connects as (the superuser); `app`: the application role (not a
   * superuser; its password in the 0600 `passwordFile` and in pgpassFile; src/local/app-role.ts)
   */
  client: { user: string; database: string; app?: AppRole };
  /** where PostgreSQL data lives (inside dir, or a temp dir when dir is not reachable by the postgres user) */
  dataRoot: string;
  startedAt: string;
}

export const STATE_FILE = 'state.json';
export const DEFAULT_LOCAL_DIR = '.pgvigil-local';

export function statePath(dir: string): string {
  return join(dir, STATE_FILE);
}

export function readState(dir: string): LocalState {
  const file = statePath(dir);
  if (!existsSync(file)) {
    throw new UserError(
      `no local cluster in ${dir} (${file} missing): run \`pgvigil local up --dir ${dir}\` first`,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as LocalState;
}

export function writeState(state: LocalState): void {
  const file = statePath(state.dir);
  writePrivate(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/**
 * The passwords of a running local cluster, from its secrets file: the one way tests, benches
 * and the demo get them (state.json holds none). Never print them.
 */
export function localSecrets(
  state: Pick<LocalState, 'dir' | 'cluster' | 'secretsFile'>,
): LocalSecrets {
  return readSecretsFile(state.secretsFile ?? join(state.dir, SECRETS_FILE), state.cluster);
}

/** How code connects to `node` as the superuser (pg.Client options, password included). */
export function superuserConnection(
  state: Pick<LocalState, 'client' | 'tls'>,
  node: Pick<LocalNodeState, 'host' | 'port'>,
  secrets: Pick<LocalSecrets, 'superPassword'>,
): {
  host: string;
  port: number;
  user: string;
  database: string;
  password: string;
  ssl: false | ConnectionOptions;
} {
  return {
    host: node.host,
    port: node.port,
    user: state.client.user,
    database: state.client.database,
    password: secrets.superPassword,
    ssl: pgSslOptions(state.tls?.superuser, node.host),
  };
}

export function isAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Send `signal` to `pid`; false when it is gone (or not ours). */
export function killQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
