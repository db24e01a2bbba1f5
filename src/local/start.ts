/**
 * `local start NAME [--wipe]`: restart what `local kill` stopped (a node's postgres, a
 * sentinel, an agent, a Redis server), in its namespace with `--netns`, on the port and
 * address it had; the new PID goes into state.json. `--wipe` starts a Redis server empty (its
 * append-only file removed first): the coordination loss of DESIGN.md's recovery scenarios.
 */
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { readPostmasterPid, startNode } from '../adapters/process/index.js';
import { UserError } from '../core/errors.js';
import { spawnAgent, waitForAgent } from './agents.js';
import { cliEntry } from './cli-entry.js';
import { memberOf, readNetns } from './netns.js';
import { startRedisServer } from './redis-server.js';
import { spawnSentinel, waitForSentinel } from './sentinels.js';
import { DEFAULT_LOCAL_DIR, isAlive, localSecrets, readState, writeState } from './state.js';

export async function localStart(opts: {
  dir?: string;
  name: string;
  wipe?: boolean;
}): Promise<string> {
  const dir = resolve(opts.dir ?? DEFAULT_LOCAL_DIR);
  const state = readState(dir);
  const net = readNetns(dir);
  const ns = memberOf(net, opts.name)?.ns;
  const logDir = join(dir, 'logs');
  const busy = (pid: number): void => {
    if (isAlive(pid)) throw new UserError(`${opts.name} is running (pid ${pid}): nothing to start`);
  };
  if (opts.wipe && !state.redisServers.some((r) => r.name === opts.name))
    throw new UserError(`--wipe applies to a Redis server (${opts.name} is not one)`);

  const node = state.nodes.find((n) => n.name === opts.name);
  if (node) {
    busy(readPostmasterPid(node.dataDir) ?? 0);
    node.pid = await startNode({
      name: node.name,
      dataDir: node.dataDir,
      port: node.port,
      logFile: join(dirname(node.dataDir), `${node.name}.log`),
      netns: ns,
    });
    writeState(state);
    return `started ${node.name} (postmaster pid ${node.pid})`;
  }
  const sentinel = state.sentinels.find((s) => s.id === opts.name);
  if (sentinel) {
    busy(sentinel.pid);
    const logFile = join(logDir, `${sentinel.id}.log`);
    const apiPort = Number(new URL(sentinel.api).port);
    sentinel.pid = spawnSentinel({
      config: state.config,
      id: sentinel.id,
      apiPort,
      logFile,
      netns: ns,
    });
    writeState(state);
    await waitForSentinel(sentinel.api, logFile);
    return `started sentinel ${sentinel.id} (pid ${sentinel.pid})`;
  }
  const agent = (state.agents ?? []).find((a) => `agent-${a.node}` === opts.name);
  if (agent) {
    busy(agent.pid);
    const logFile = join(logDir, `agent-${agent.node}.log`);
    const nodeNs = memberOf(net, agent.node)?.ns;
    agent.pid = spawnAgent({
      cli: cliEntry(),
      config: state.config,
      node: agent.node,
      logFile,
      netns: nodeNs,
    });
    writeState(state);
    await waitForAgent(agent.api, agent.pid, logFile);
    return `started agent of ${agent.node} (pid ${agent.pid})`;
  }
  const redis = state.redisServers.find((r) => r.name === opts.name);
  if (redis) {
    busy(redis.pid);
    const redisDir = join(dir, redis.name);
    if (opts.wipe) rmSync(join(redisDir, 'appendonlydir'), { recursive: true, force: true });
    const r = await startRedisServer({
      dir: redisDir,
      name: redis.name,
      port: redis.port,
      password: localSecrets(state).redisPassword,
      persist: true,
      ...(ns ? { host: new URL(redis.url).hostname, netns: ns } : {}),
    });
    redis.pid = r.pid;
    writeState(state);
    return `started ${redis.name} (pid ${r.pid}${opts.wipe ? ', empty' : ''})`;
  }
  const known = [
    ...state.nodes.map((n) => n.name),
    ...state.sentinels.map((s) => s.id),
    ...(state.agents ?? []).map((a) => `agent-${a.node}`),
    ...state.redisServers.map((r) => r.name),
  ];
  throw new UserError(`unknown name ${opts.name}: use one of ${known.join(', ')}`);
}
