/**
 * Real PostgreSQL nodes for integration tests: a primary and N streaming standbys in a fresh
 * temp dir on free loopback ports, with generated passwords. Always call `stop()` in
 * afterAll: it stops every node (SIGKILL fallback) and removes the temp dir. A process exit
 * hook SIGKILLs whatever is left if the test run dies first.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import {
  defaultRunAs,
  nodeProcesses,
  readPostmasterPid,
  signalPids,
  stopNode,
} from '../../src/adapters/process/index.js';
import type { NodeSpec } from '../../src/core/model.js';
import { freePort } from '../../src/local/free-port.js';
import { initPrimary, initStandby, type LocalNode } from '../../src/local/postgres.js';

export interface PgPair {
  dir: string;
  primary: LocalNode;
  standbys: LocalNode[];
  /** primary first */
  nodes: LocalNode[];
  superPassword: string;
  replUser: string;
  replPassword: string;
  stop(): Promise<void>;
}

export const secret = (): string => randomBytes(12).toString('base64url');

export function specOf(node: LocalNode, priority = 0): NodeSpec {
  return { name: node.name, host: node.host, port: node.port, priority, noFailover: false };
}

/** One statement string on a fresh connection (as the superuser). */
export async function sqlOn<R extends pg.QueryResultRow = Record<string, unknown>>(
  node: LocalNode,
  text: string,
): Promise<R[]> {
  const c = new pg.Client({ connectionString: node.url, connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Poll `fn` until it returns a value (not undefined) or throw the last error after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = new Error(`condition not met within ${timeoutMs} ms`);
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startPgPair({ standbys = 1 }: { standbys?: number } = {}): Promise<PgPair> {
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-it-'));
  const runAs = defaultRunAs();
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const started: LocalNode[] = [];
  const killAll = (): void => {
    for (const n of started)
      signalPids(nodeProcesses(n.dataDir, readPostmasterPid(n.dataDir) ?? n.pid), 'SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((n) => stopNode(n, 'immediate').catch(() => undefined)));
    killAll();
    process.removeListener('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
  };
  const superPassword = secret();
  const replPassword = secret();
  const replUser = 'replicator';
  const names = Array.from({ length: standbys }, (_, i) => `pg${i + 2}`);
  try {
    const primary = await initPrimary({
      dir: join(dir, 'pg1'),
      name: 'pg1',
      port: await freePort(),
      superPassword,
      replPassword,
      replUser,
      standbys: names,
    });
    started.push(primary);
    const nodes = [primary];
    for (const name of names) {
      const port = await freePort();
      const primaryAddr = { host: primary.host, port: primary.port };
      const node = await initStandby({
        dir: join(dir, name),
        name,
        port,
        primary: primaryAddr,
        replUser,
        replPassword,
        slot: name,
        superPassword,
      });
      started.push(node);
      nodes.push(node);
    }
    return {
      dir,
      primary,
      standbys: nodes.slice(1),
      nodes,
      superPassword,
      replUser,
      replPassword,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
