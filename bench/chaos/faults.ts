/**
 * Applying and reverting one fault of the schedule on a `local up --netns` cluster, through
 * the same functions as `pgvigil local kill|start|partition|heal` (src/local/): signals by
 * recorded PID, partitions as silent nftables drops in the bridge's namespace.
 */
import { readFileSync } from 'node:fs';

import { Redis } from 'ioredis';

import type { Topology } from '../../src/core/model.js';
import { localKill } from '../../src/local/down.js';
import { heal, partition } from '../../src/local/netns.js';
import { localStart } from '../../src/local/start.js';
import { type LocalSecrets, type LocalState, readState } from '../../src/local/state.js';
import type { Fault } from './schedule.js';

export interface Applied {
  /** the member names hit, roles resolved */
  resolved: string;
  /** undo it (continue, restart, heal); null when nothing is to be undone */
  revert: (() => Promise<string>) | null;
  note: string;
}

interface Ctx {
  dir: string;
  state: LocalState;
  secrets: LocalSecrets;
  topology: Topology;
}

const standbyOf = (t: Topology, pickIndex = 0): string => {
  const s = t.nodes
    .filter((n) => n.name !== t.primary)
    .map((n) => n.name)
    .sort();
  return s[pickIndex % s.length]!;
};

async function api(state: LocalState, path: string, body: unknown): Promise<string> {
  const token = state.tokenFile ? readFileSync(state.tokenFile, 'utf8').trim() : undefined;
  const errors: string[] = [];
  for (const s of readState(state.dir).sentinels) {
    try {
      const res = await fetch(`${s.api}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(45_000),
      });
      const text = await res.text();
      return `${s.id} answered ${res.status}: ${text.slice(0, 200)}`;
    } catch (err) {
      errors.push(`${s.id}: ${(err as Error).message}`);
    }
  }
  return `no sentinel answered (${errors.join('; ')})`;
}

async function flushAll(state: LocalState, secrets: LocalSecrets, name: string): Promise<void> {
  const r = state.redisServers.find((x) => x.name === name)!;
  const u = new URL(r.url);
  const client = new Redis({
    host: u.hostname,
    port: Number(u.port),
    password: secrets.redisPassword,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.flushall();
  } finally {
    client.disconnect();
  }
}

export async function applyFault(f: Fault, c: Ctx): Promise<Applied> {
  const { dir, topology: t, state } = c;
  const P = t.primary;
  const others = (exclude: string[]) =>
    [
      ...state.nodes.map((n) => n.name),
      ...state.sentinels.map((s) => s.id),
      ...state.redisServers.map((r) => r.name),
    ].filter((n) => !exclude.includes(n));
  const sentinels = state.sentinels.map((s) => s.id).join(',');
  const nodes = state.nodes.map((n) => n.name);
  const redis = state.redisServers.map((r) => r.name).join(',');
  const kill = async (name: string, signal: 'KILL' | 'STOP') => localKill({ dir, name, signal });
  const cont = (name: string) => async () => localKill({ dir, name, signal: 'CONT' });
  const restart =
    (name: string, wipe = false) =>
    async () =>
      localStart({ dir, name, wipe });
  const cut = (a: string, b: string, oneway: boolean): Applied => ({
    resolved: `${a} ${oneway ? '->' : '<->'} ${b}`,
    note: partition(dir, a, b, oneway),
    revert: async () => heal(dir),
  });
  switch (f.kind) {
    case 'kill-primary':
      return { resolved: P, note: await kill(P, 'KILL'), revert: null };
    case 'stop-primary':
      return { resolved: P, note: await kill(P, 'STOP'), revert: cont(P) };
    case 'kill-standby': {
      const s = standbyOf(t);
      return { resolved: s, note: await kill(s, 'KILL'), revert: null };
    }
    case 'stop-standby': {
      const s = standbyOf(t);
      return { resolved: s, note: await kill(s, 'STOP'), revert: cont(s) };
    }
    case 'kill-sentinel':
      return { resolved: f.target, note: await kill(f.target, 'KILL'), revert: restart(f.target) };
    case 'stop-sentinel':
      return { resolved: f.target, note: await kill(f.target, 'STOP'), revert: cont(f.target) };
    case 'kill-agent':
    case 'stop-agent': {
      const node = f.target === 'agent:primary' ? P : standbyOf(t);
      const name = `agent-${node}`;
      return f.kind === 'kill-agent'
        ? { resolved: name, note: await kill(name, 'KILL'), revert: restart(name) }
        : { resolved: name, note: await kill(name, 'STOP'), revert: cont(name) };
    }
    case 'kill-redis':
      return { resolved: f.target, note: await kill(f.target, 'KILL'), revert: restart(f.target) };
    case 'stop-redis':
      return { resolved: f.target, note: await kill(f.target, 'STOP'), revert: cont(f.target) };
    case 'wipe-redis': {
      await flushAll(state, c.secrets, f.target);
      const note = await kill(f.target, 'KILL');
      return { resolved: f.target, note: `FLUSHALL; ${note}`, revert: restart(f.target, true) };
    }
    case 'isolate-primary':
      return cut(P, others([P]).join(','), false);
    case 'isolate-primary-oneway':
      return cut(P, others([P]).join(','), true);
    case 'cut-sentinels-primary':
      return cut(P, sentinels, false);
    case 'cut-sentinels-primary-oneway':
      return cut(P, sentinels, true);
    case 'split-sentinels': {
      const rest = [...state.sentinels.map((s) => s.id).filter((s) => s !== f.target), ...nodes];
      return cut(f.target, rest.join(','), false);
    }
    case 'split-redis':
      return cut(f.target, [sentinels, ...nodes].join(','), false);
    case 'split-redis-oneway':
      return cut(f.target, [sentinels, ...nodes].join(','), true);
    case 'cut-primary-redis':
      return cut(P, redis, false);
    case 'split-minority': {
      const side = f.target.split('+');
      return cut(side.join(','), others(side).join(','), false);
    }
    case 'switchover': {
      const to = standbyOf(t);
      return {
        resolved: `${P} -> ${to}`,
        note: await api(state, '/switchover', { to }),
        revert: null,
      };
    }
    case 'failback':
      return { resolved: P, note: await api(state, '/failback', {}), revert: null };
    default: {
      const never: never = f.kind;
      throw new Error(`unknown fault kind ${String(never)}`);
    }
  }
}
