/**
 * `<dir>/state.json`: every port, URL and PID `local up` started, so scripts, tests and the
 * other `local` commands can find them. Written atomically (temp file + rename).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { UserError } from '../core/errors.js';

export interface LocalNodeState {
  name: string;
  host: string;
  port: number;
  /** postgres:// URL that works with psql */
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
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
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
