/**
 * Sentinels of the embedded cluster: one `pgvigil sentinel` process per id, detached, logging to
 * its own file; ready once it has published a topology (epoch >= 1).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

import { nsExec } from '../adapters/process/index.js';
import { cliEntry } from './cli-entry.js';
import { DAEMON_NODE_FLAGS } from './node-flags.js';
import { killQuietly, type LocalSentinelState } from './state.js';

const SENTINEL_READY_MS = 30_000;

/** Start one sentinel process, detached, logging to `logFile`; returns its PID. */
export function spawnSentinel(o: {
  config: string;
  id: string;
  apiPort: number;
  logFile: string;
  env?: NodeJS.ProcessEnv | undefined;
  /** run inside this network namespace (`local up --netns`) */
  netns?: string | undefined;
  /** node flags after DAEMON_NODE_FLAGS (benches: `--cpu-prof`, refused in NODE_OPTIONS) */
  nodeFlags?: readonly string[] | undefined;
}): number {
  const log = openSync(o.logFile, 'a');
  const argv = [
    ...DAEMON_NODE_FLAGS,
    ...(o.nodeFlags ?? []),
    cliEntry(),
    'sentinel',
    '--config',
    o.config,
    '--id',
    o.id,
    '--api-port',
    String(o.apiPort),
  ];
  const run = o.netns
    ? nsExec(o.netns, process.execPath, argv)
    : { cmd: process.execPath, args: argv };
  const child = spawn(run.cmd, run.args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...(o.env ?? {}) },
  });
  closeSync(log);
  child.unref();
  return child.pid ?? 0;
}

/** Until the sentinel at `api` serves a topology of epoch >= 1 (GET /topology). */
export async function waitForSentinel(api: string, logFile: string): Promise<void> {
  const deadline = Date.now() + SENTINEL_READY_MS;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${api}/topology`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) {
        const body = (await res.json()) as { epoch?: number };
        if ((body.epoch ?? 0) >= 1) return;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `sentinel at ${api} did not publish a topology within ${SENTINEL_READY_MS / 1000}s: see ${logFile}`,
  );
}

/**
 * Spawn sentinels s1..sN (each registered in `started` as soon as it runs, so a failed start-up
 * stops it), then wait until each has published the topology.
 */
export async function startSentinels(
  o: {
    count: number;
    config: string;
    /** one per sentinel */
    apiPorts: number[];
    logDir: string;
    /** extra environment per sentinel id */
    env?: Record<string, NodeJS.ProcessEnv> | undefined;
    /** `--netns`: each sentinel's namespace and address, by id */
    net?: ((id: string) => { ns: string; addr: string }) | undefined;
    progress: (msg: string) => void;
  },
  started: { stop: () => Promise<void> }[],
): Promise<LocalSentinelState[]> {
  const sentinels: LocalSentinelState[] = [];
  for (let i = 0; i < o.count; i++) {
    const id = `s${i + 1}`;
    const pid = spawnSentinel({
      config: o.config,
      id,
      apiPort: o.apiPorts[i]!,
      logFile: join(o.logDir, `${id}.log`),
      env: o.env?.[id],
      netns: o.net?.(id).ns,
    });
    started.push({ stop: async () => void killQuietly(pid, 'SIGKILL') });
    const host = o.net?.(id).addr ?? '127.0.0.1';
    sentinels.push({ id, api: `http://${host}:${o.apiPorts[i]}`, pid });
  }
  o.progress(`started ${o.count} sentinels; waiting for them to publish the topology`);
  await Promise.all(sentinels.map((s) => waitForSentinel(s.api, join(o.logDir, `${s.id}.log`))));
  return sentinels;
}
