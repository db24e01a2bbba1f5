/**
 * What the pool knows about nodes: the primary and the nodes of a topology, and the probes it
 * runs itself (is this server writable; which of these is) when Redis does not answer.
 */
import pg from 'pg';

import type { Topology } from '../core/model.js';

export interface HostPort {
  host: string;
  port: number;
}

export function primaryOf(t: Topology): HostPort | null {
  const node = t.nodes.find((n) => n.name === t.primary);
  return node ? { host: node.host, port: node.port } : null;
}

export function nodesOf(t: Topology | null): HostPort[] {
  return (t?.nodes ?? []).map((n) => ({ host: n.host, port: n.port }));
}

/** `pg_is_in_recovery()` is false there (rejects when the server cannot be reached). */
export async function isWritable(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
  return rows[0]?.r === false;
}

/** The first of `hosts` (deduplicated) that is a writable primary, asked all at once. */
export async function findWritable(
  hosts: HostPort[],
  config: pg.PoolConfig,
): Promise<HostPort | null> {
  const unique = [...new Map(hosts.map((h) => [`${h.host}:${h.port}`, h])).values()];
  const answers = await Promise.all(
    unique.map(async (h) => {
      const client = new pg.Client({
        ...config,
        host: h.host,
        port: h.port,
        connectionTimeoutMillis: 1000,
        query_timeout: 2000,
      } as pg.ClientConfig);
      client.on('error', () => undefined);
      try {
        await client.connect();
        const { rows } = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
        return rows[0]?.r === false ? h : null;
      } catch {
        return null;
      } finally {
        await client.end().catch(() => undefined);
      }
    }),
  );
  return answers.find((a) => a !== null) ?? null;
}
