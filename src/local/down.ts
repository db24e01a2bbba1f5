/**
 * `local down` and `local kill`: signal the processes a running embedded cluster recorded in
 * `<dir>/state.json` (by PID, never by name).
 */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { readPostmasterPid, stopNode } from '../adapters/process/index.js';
import { UserError } from '../core/errors.js';
import { stopAgents } from './agents.js';
import { readNetns, removeNetns } from './netns.js';
import { signalNode } from './postgres.js';
import { DEFAULT_LOCAL_DIR, isAlive, killQuietly, readState, statePath } from './state.js';

/** Stop everything (agents first, then sentinels, postgres, Redis) and remove the data. */
export async function localDown(opts: {
  dir?: string;
  quiet?: boolean;
  progress?: (m: string) => void;
}): Promise<void> {
  const dir = resolve(opts.dir ?? DEFAULT_LOCAL_DIR);
  const progress = opts.quiet
    ? () => undefined
    : (opts.progress ?? ((m: string) => process.stderr.write(`[local] ${m}\n`)));
  const net = readNetns(dir);
  if (!existsSync(statePath(dir)) && net) {
    // `local up --netns` crashed before state.json: only the network is left to remove
    removeNetns(dir, net);
    progress('removed the network namespaces of a cluster that did not start');
    return;
  }
  const state = readState(dir);
  // agents first: they would restart or rejoin the postgres we are about to stop
  const agents = state.agents ?? [];
  await stopAgents(agents.map((a) => a.pid));
  for (const a of agents) progress(`stopped agent of ${a.node} (pid ${a.pid})`);
  for (const s of state.sentinels) {
    if (killQuietly(s.pid, 'SIGTERM')) progress(`stopped sentinel ${s.id} (pid ${s.pid})`);
  }
  await waitGone(
    state.sentinels.map((s) => s.pid),
    3000,
  );
  for (const s of state.sentinels) killQuietly(s.pid, 'SIGKILL');
  for (const n of state.nodes) {
    // A node may have been SIGSTOPped by `local kill`: continue it so it can shut down.
    const pid = readPostmasterPid(n.dataDir) ?? n.pid;
    await signalNode({ ...n, pid }, 'CONT').catch(() => undefined);
    await stopNode({ ...n, pid }).catch(() => undefined);
    progress(`stopped ${n.name}`);
  }
  for (const r of state.redisServers) {
    killQuietly(r.pid, 'SIGCONT');
    if (killQuietly(r.pid, 'SIGTERM')) progress(`stopped ${r.name}`);
  }
  await waitGone(
    state.redisServers.map((r) => r.pid),
    3000,
  );
  for (const r of state.redisServers) killQuietly(r.pid, 'SIGKILL');
  // The embedded cluster is disposable: its data goes with it (logs stay in <dir>/logs).
  rmSync(state.dataRoot, { recursive: true, force: true });
  for (const r of state.redisServers) rmSync(join(dir, r.name), { recursive: true, force: true });
  if (net) {
    removeNetns(dir, net);
    progress(
      `removed ${net.members.length + 1} network namespaces, the bridge and ${net.hostVeth}`,
    );
  }
  rmSync(statePath(dir), { force: true });
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 50));
}

export type KillSignal = 'KILL' | 'STOP' | 'CONT';

/** Inject a fault: a node's postmaster (STOP/CONT: the whole instance), a sentinel, a Redis server. */
export async function localKill(opts: {
  dir?: string;
  name: string;
  signal?: KillSignal;
}): Promise<string> {
  const dir = resolve(opts.dir ?? DEFAULT_LOCAL_DIR);
  const signal = opts.signal ?? 'KILL';
  const state = readState(dir);
  const node = state.nodes.find((n) => n.name === opts.name);
  if (node) {
    const pid = readPostmasterPid(node.dataDir) ?? node.pid;
    await signalNode({ ...node, pid }, signal);
    return `sent SIG${signal} to ${node.name} (postmaster pid ${pid}${signal === 'KILL' ? '' : ' and its children'})`;
  }
  const target = [
    ...state.sentinels.map((s) => ({ name: s.id, pid: s.pid })),
    ...(state.agents ?? []).map((a) => ({ name: `agent-${a.node}`, pid: a.pid })),
    ...state.redisServers.map((r) => ({ name: r.name, pid: r.pid })),
  ].find((t) => t.name === opts.name);
  if (!target) {
    const known = [
      ...state.nodes.map((n) => n.name),
      ...state.sentinels.map((s) => s.id),
      ...(state.agents ?? []).map((a) => `agent-${a.node}`),
      ...state.redisServers.map((r) => r.name),
    ];
    throw new UserError(`unknown name ${opts.name}: use one of ${known.join(', ')}`);
  }
  if (!killQuietly(target.pid, `SIG${signal}` as NodeJS.Signals))
    throw new UserError(`${opts.name} (pid ${target.pid}) is not running`);
  return `sent SIG${signal} to ${opts.name} (pid ${target.pid})`;
}
