/**
 * A real HAProxy with the documented config/haproxy/haproxy.cfg (only its addresses rewritten
 * to a local 2-node cluster) in front of the nodes: a client on the write port keeps writing
 * across a switchover (pg1 -> pg2) and a SIGKILL failover (of pg2 and its agent, back to pg1);
 * the read port reaches a standby. The time from each event to the first write acknowledged
 * through HAProxy is printed (README.md, HAProxy).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import { freePort } from '../../src/local/free-port.js';
import { eventually, type LocalHandle, startLocal } from '../helpers/local.js';

const CFG = join(import.meta.dirname, '../../config/haproxy/haproxy.cfg');

/** The documented file with its binds on free ports and its servers on the local nodes. */
function localConfig(
  ports: { write: number; read: number; stats: number },
  nodes: { name: string; host: string; port: number; agent: URL }[],
): string {
  const servers = nodes
    .map(
      (n) =>
        `    server ${n.name} ${n.host}:${n.port} check addr ${n.agent.hostname} port ${n.agent.port}`,
    )
    .join('\n');
  return readFileSync(CFG, 'utf8')
    .replace(/^ {4}log stdout.*$/m, '')
    .replace('bind *:5000', `bind 127.0.0.1:${ports.write}`)
    .replace('bind *:5001', `bind 127.0.0.1:${ports.read}`)
    .replace('bind *:7000', `bind 127.0.0.1:${ports.stats}`)
    .replace(/(?:^ {4}server .*\n)+/gm, `${servers}\n`);
}

describe('HAProxy routes writes to the primary across a switchover and a SIGKILL failover', () => {
  let h: LocalHandle;
  let haproxy: ChildProcess | undefined;
  let dir = '';
  let write = 0;
  let read = 0;
  beforeAll(async () => {
    h = await startLocal({ nodes: 2, sentinels: 3 });
    dir = mkdtempSync(join(tmpdir(), 'pgvigil-haproxy-'));
    const ports = { write: await freePort(), read: await freePort(), stats: await freePort() };
    write = ports.write;
    read = ports.read;
    const nodes = h.state.nodes.map((n) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      agent: new URL(h.state.agents!.find((a) => a.node === n.name)!.api),
    }));
    writeFileSync(join(dir, 'haproxy.cfg'), localConfig(ports, nodes));
    haproxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  });
  afterAll(async () => {
    if (haproxy && haproxy.exitCode === null) {
      haproxy.kill('SIGTERM');
      await new Promise((r) => haproxy!.once('exit', r));
    }
    await h?.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const connect = async (port: number) => {
    const c = new pg.Client({
      ...h.node('pg1').conn,
      host: '127.0.0.1',
      port,
      connectionTimeoutMillis: 1000,
      query_timeout: 2000,
    });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };

  it('keeps writing; prints the time to the first write after each event', async () => {
    const c0 = await eventually(() => connect(write), 15_000);
    await c0.query('CREATE TABLE IF NOT EXISTS w (id serial PRIMARY KEY, at timestamptz)');
    await c0.end();
    const acked: number[] = [];
    let stop = false;
    const writer = (async () => {
      let c: pg.Client | null = null;
      while (!stop) {
        try {
          c ??= await connect(write);
          await c.query('INSERT INTO w (at) VALUES (now())');
          acked.push(Date.now());
        } catch {
          await c?.end().catch(() => undefined);
          c = null;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await c?.end().catch(() => undefined);
    })();
    const firstWriteAfter = async (t0: number) =>
      (await eventually(async () => acked.find((t) => t > t0), 20_000)) - t0;
    /** the longest pause between two acknowledged writes from t0 on (the writer's outage) */
    const longestGap = (t0: number, t1: number) => {
      const a = acked.filter((t) => t >= t0 - 1000 && t <= t1);
      return Math.max(0, ...a.slice(1).map((t, i) => t - a[i]!));
    };

    try {
      await eventually(async () => (acked.length > 5 ? true : undefined), 10_000);
      const epoch0 = (await h.topology())!.epoch;
      // switchover pg1 -> pg2 through the first sentinel's API
      const t1 = Date.now();
      const res = await fetch(`${h.state.api}/switchover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'pg2' }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      await firstWriteAfter(Date.now());
      const switchGap = longestGap(t1, Date.now());
      // pg1 rejoins as a standby; then SIGKILL pg2 and its agent
      await eventually(async () => {
        const r = await fetch(`${h.state.agents!.find((a) => a.node === 'pg1')!.api}/replica`);
        return r.status === 200 ? true : undefined;
      }, 30_000);
      const epoch1 = (await h.topology())!.epoch;
      expect(epoch1).toBe(epoch0 + 1);
      await localKill({ dir: h.state.dir, name: 'agent-pg2', signal: 'KILL' });
      await localKill({ dir: h.state.dir, name: 'pg2', signal: 'KILL' });
      const t2 = Date.now(); // the postmaster is gone: no write is acknowledged by pg2 after this
      const failMs = await firstWriteAfter(t2);
      await eventually(async () => ((await h.topology())?.primary === 'pg1' ? true : undefined));
      await new Promise((r) => setTimeout(r, 300));
      const failGap = longestGap(t2, Date.now());
      console.log(
        `HAProxy write port: switchover: longest pause between acknowledged writes ${switchGap} ms; SIGKILL of the primary: first write ${failMs} ms after the kill (longest pause ${failGap} ms); ${acked.length} writes acknowledged`,
      );
    } finally {
      stop = true;
      await writer;
    }
  });

  it('the read port reaches no primary', async () => {
    // the only standby is dead now (pg2 killed, pg1 primary): the read port has no server
    const c = await connect(read).catch((err: Error) => err);
    if (c instanceof pg.Client) {
      const [r] = (await c.query('SELECT pg_is_in_recovery() AS r')).rows as { r: boolean }[];
      await c.end();
      expect(r!.r).toBe(true);
    } else expect(c).toBeInstanceOf(Error);
  });
});
