/**
 * Writers for the two-writer scenarios: each acknowledged write is recorded with the server
 * that acknowledged it and the wall time the client received the acknowledgement (every
 * writer runs on this machine, so the times compare).
 *
 * - `nsWriter`: a client INSIDE a namespace (the primary's: it keeps its link to the primary
 *   when the primary is cut off from everything else), writing to one address for ever,
 *   reconnecting after an error. A child process (nsenter), its acks as JSON lines.
 * - `topologyWriter`: a client on the host that writes wherever the committed topology points.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import pg from 'pg';

import type { LocalHandle } from './local.js';

export interface Ack {
  server: string;
  at: number;
  writer: string;
}

export interface Writer {
  acks: Ack[];
  stop(): Promise<void>;
}

const NS_SCRIPT = `
const pg = require('pg');
const [host, port, server] = process.argv.slice(1);
let stop = false;
process.on('SIGTERM', () => { stop = true; });
(async () => {
  while (!stop) {
    const c = new pg.Client({ host, port: Number(port), user: 'postgres', database: 'postgres',
      connectionTimeoutMillis: 500, query_timeout: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      while (!stop) {
        await c.query("INSERT INTO w (server, writer) VALUES ($1, 'ns')", [server]);
        process.stdout.write(JSON.stringify({ server, at: Date.now(), writer: 'ns' }) + '\\n');
        await new Promise((r) => setTimeout(r, 5));
      }
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  process.exit(0);
})();
`;

/** Write to `node` from inside namespace `ns` until stopped. */
export function nsWriter(h: LocalHandle, ns: string, node: string): Writer {
  const n = h.node(node);
  const child: ChildProcess = spawn(
    'nsenter',
    [
      `--net=/run/netns/${ns}`,
      '--',
      process.execPath,
      '-e',
      NS_SCRIPT,
      n.host,
      String(n.port),
      node,
    ],
    {
      cwd: process.cwd(),
      env: { ...process.env, PGPASSWORD: h.secrets.superPassword },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const acks: Ack[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      acks.push(JSON.parse(l) as Ack);
    } catch {
      // not ours
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    acks,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.kill('SIGKILL');
    },
  };
}

/** From the host, write to whichever node the committed topology names primary. */
export function topologyWriter(h: LocalHandle): Writer {
  const acks: Ack[] = [];
  let stop = false;
  const clients = new Map<string, pg.Client>();
  const clientOf = async (node: string): Promise<pg.Client> => {
    const have = clients.get(node);
    if (have) return have;
    const c = new pg.Client({
      ...h.node(node).conn,
      connectionTimeoutMillis: 500,
      query_timeout: 1000,
    });
    c.on('error', () => clients.delete(node));
    await c.connect();
    clients.set(node, c);
    return c;
  };
  const loop = (async () => {
    while (!stop) {
      try {
        const t = await h.topology();
        if (t) {
          const c = await clientOf(t.primary);
          await c.query("INSERT INTO w (server, writer) VALUES ($1, 'topology')", [t.primary]);
          acks.push({ server: t.primary, at: Date.now(), writer: 'topology' });
        }
      } catch {
        for (const [k, c] of clients) {
          clients.delete(k);
          void c.end().catch(() => undefined);
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    acks,
    stop: async () => {
      stop = true;
      await loop;
      for (const c of clients.values()) await c.end().catch(() => undefined);
    },
  };
}

/** Per server, the first and last acknowledgement; the overlap (ms) of every pair of periods. */
export function overlaps(acks: Ack[]): {
  periods: Record<string, { first: number; last: number; count: number }>;
  overlapMs: number;
} {
  const periods: Record<string, { first: number; last: number; count: number }> = {};
  for (const a of acks) {
    const p = (periods[a.server] ??= { first: a.at, last: a.at, count: 0 });
    p.first = Math.min(p.first, a.at);
    p.last = Math.max(p.last, a.at);
    p.count++;
  }
  const list = Object.values(periods);
  let overlapMs = 0;
  for (let i = 0; i < list.length; i++)
    for (let j = i + 1; j < list.length; j++) {
      const a = list[i]!;
      const b = list[j]!;
      overlapMs = Math.max(overlapMs, Math.min(a.last, b.last) - Math.max(a.first, b.first));
    }
  return { periods, overlapMs: Math.max(0, overlapMs) };
}
