/**
 * Node agents of the embedded cluster: one `pgvigil agent` process per node, detached, in its
 * own process group (so `local down` can end an agent together with a pg_rewind or
 * pg_basebackup it runs, while postgres, which pg_ctl puts in its own session, survives).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

import { nsExec } from '../adapters/process/index.js';
import { cliEntry } from './cli-entry.js';
import { DAEMON_NODE_FLAGS } from './node-flags.js';
import { isAlive, type LocalAgentState } from './state.js';

const AGENT_READY_MS = 20_000;

export function spawnAgent(o: {
  cli: string;
  config: string;
  node: string;
  logFile: string;
  /** run inside this network namespace (`local up --netns`) */
  netns?: string | undefined;
}): number {
  const log = openSync(o.logFile, 'a');
  const argv = [...DAEMON_NODE_FLAGS, o.cli, 'agent', '--config', o.config, '--node', o.node];
  const run = o.netns
    ? nsExec(o.netns, process.execPath, argv)
    : { cmd: process.execPath, args: argv };
  const child = spawn(run.cmd, run.args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  closeSync(log);
  child.unref();
  return child.pid ?? 0;
}

/**
 * Spawn one agent per node (each registered in `started` as soon as it runs, so a failed
 * start-up stops it), then wait until each is healthy.
 */
export async function startAgents(
  o: {
    config: string;
    /** the nodes to start an agent for, in order */
    nodes: string[];
    /** each node's agent API base URL, in the same order */
    apis: string[];
    logDir: string;
    progress: (msg: string) => void;
    /** `--netns`: the namespace of each node */
    netns?: ((node: string) => string) | undefined;
  },
  started: { stop: () => Promise<void> }[],
): Promise<LocalAgentState[]> {
  const agents: LocalAgentState[] = [];
  for (let i = 0; i < o.apis.length; i++) {
    const node = o.nodes[i]!;
    const logFile = join(o.logDir, `agent-${node}.log`);
    const pid = spawnAgent({
      cli: cliEntry(),
      config: o.config,
      node,
      logFile,
      netns: o.netns?.(node),
    });
    started.push({ stop: () => stopAgents([pid], 0) }); // last in, first stopped
    agents.push({ node, api: o.apis[i]!, pid });
  }
  if (agents.length > 0) o.progress(`started ${agents.length} node agents`);
  await Promise.all(
    agents.map((a) => waitForAgent(a.api, a.pid, join(o.logDir, `agent-${a.node}.log`))),
  );
  return agents;
}

/** Until the agent's loop runs (GET /health 200). */
export async function waitForAgent(api: string, pid: number, logFile: string): Promise<void> {
  const deadline = Date.now() + AGENT_READY_MS;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new Error(`agent at ${api} exited during start-up: see ${logFile}`);
    try {
      const res = await fetch(`${api}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`agent at ${api} not healthy within ${AGENT_READY_MS / 1000}s: see ${logFile}`);
}

function signal(targets: number[], sig: NodeJS.Signals): void {
  for (const target of targets) {
    try {
      process.kill(target, sig);
    } catch {
      // gone, or not a group leader
    }
  }
}

/** SIGTERM each agent, wait, then SIGKILL its process group (with any pg_rewind it runs). */
export async function stopAgents(pids: number[], graceMs = 3000): Promise<void> {
  signal(pids.filter(Boolean), 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(isAlive)) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids) if (pid) signal([-pid, pid], 'SIGKILL');
}
