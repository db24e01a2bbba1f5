/**
 * `npm run bench:roundtrip -- [--seconds 60] [--warmup 30] [--every 150] [--json]`: the CPU one
 * round trip costs at the cadence of an idle sentinel (README, "Second round").
 *
 * Method: one local cluster (2 nodes, no sentinel, no agent, no backups, 1 Redis). One child
 * process per operation, all running at once. Each child has the daemons' V8 flags
 * (src/local/node-flags.ts) and does its operation every `--every` ms. The default of 150 ms
 * gives 6.7 a second, as a sentinel probing 2 nodes every 300 ms. After `--warmup` s, the CPU
 * of the next `--seconds` s (process.cpuUsage) is divided by the operations done. Operations:
 * - timer: an empty timer tick (the floor);
 * - select1: `SELECT 1` on a pg.Client;
 * - probe: the sentinel's probe (src/adapters/postgres/probe.ts), heartbeat and status,
 *   alternating between the 2 nodes over persistent sessions;
 * - redis-get: one GET on one ioredis connection.
 * Then the same child process for `select1` in a hot loop of 2000, the cost once V8 has
 * optimized it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Redis } from 'ioredis';
import pg from 'pg';

import { probeNode } from '../src/adapters/postgres/probe.js';
import { Session } from '../src/adapters/postgres/session.js';
import { localDown, localUp } from '../src/local/cluster.js';
import { DAEMON_NODE_FLAGS } from '../src/local/node-flags.js';
import { localSecrets, type LocalState, superuserConnection } from '../src/local/state.js';

const OPS = ['timer', 'select1', 'probe', 'redis-get'] as const;
type Op = (typeof OPS)[number];

interface Result {
  op: string;
  count: number;
  cpuUsPerOp: number;
  /** null: the hot loop (no cadence) */
  coreShare: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The child: `round-trip.js --worker OP --state FILE ...`. */
async function worker(op: Op | 'select1-hot', state: LocalState, o: Opts): Promise<Result> {
  const secrets = localSecrets(state);
  const nodes = state.nodes;
  const conn = superuserConnection(state, nodes[1]!, secrets);
  let run: () => Promise<void>;
  let close: () => Promise<void> = async () => undefined;
  if (op === 'timer') run = async () => undefined;
  else if (op === 'redis-get') {
    const r = new Redis(state.redis[0]!, { password: secrets.redisPassword });
    run = async () => void (await r.get('pgvigil:bench:none'));
    close = async () => void r.disconnect();
  } else if (op === 'probe') {
    const sessions = await Promise.all(
      nodes.map((n) =>
        Session.open({
          ...superuserConnection(state, n, secrets),
          applicationName: 'pgvigil-bench-roundtrip',
          connectTimeoutMs: 1000,
          queryTimeoutMs: 1000,
        }),
      ),
    );
    const memos = sessions.map(() => ({ withEpoch: true }));
    let i = 0;
    run = async () => {
      const k = i++ % sessions.length;
      await probeNode(sessions[k]!, memos[k]!, { sentinel: 'bench-roundtrip', heartbeat: true });
    };
    close = async () => sessions.forEach((s) => s.destroy());
  } else {
    const c = new pg.Client(conn);
    await c.connect();
    run = async () => void (await c.query('SELECT 1'));
    close = () => c.end();
  }
  try {
    if (op === 'select1-hot') {
      for (let i = 0; i < 500; i++) await run();
      const t0 = process.cpuUsage();
      for (let i = 0; i < 2000; i++) await run();
      const u = process.cpuUsage(t0);
      return { op, count: 2000, cpuUsPerOp: (u.user + u.system) / 2000, coreShare: null };
    }
    let count = 0;
    let measuring = false;
    const timer = setInterval(() => {
      void run().then(() => {
        if (measuring) count++;
      });
    }, o.every);
    await sleep(o.warmup * 1000);
    measuring = true;
    const t0 = process.cpuUsage();
    await sleep(o.seconds * 1000);
    const u = process.cpuUsage(t0);
    clearInterval(timer);
    const us = u.user + u.system;
    return { op, count, cpuUsPerOp: us / count, coreShare: (100 * us) / (o.seconds * 1e6) };
  } finally {
    await close();
  }
}

interface Opts {
  seconds: number;
  warmup: number;
  every: number;
}

function child(op: string, stateFile: string, o: Opts): Promise<Result> {
  const self = fileURLToPath(import.meta.url);
  const args = [...DAEMON_NODE_FLAGS, self, '--worker', op, '--state', stateFile];
  args.push(
    '--seconds',
    String(o.seconds),
    '--warmup',
    String(o.warmup),
    '--every',
    String(o.every),
  );
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker ${op} exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as Result);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '30' },
      every: { type: 'string', default: '150' },
      json: { type: 'boolean', default: false },
      worker: { type: 'string' },
      state: { type: 'string' },
    },
  });
  const o: Opts = {
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
    every: Number(values.every),
  };
  if (values.worker) {
    const { readFileSync } = await import('node:fs');
    const state = JSON.parse(readFileSync(values.state!, 'utf8')) as LocalState;
    console.log(JSON.stringify(await worker(values.worker as Op, state, o)));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-bench-roundtrip-'));
  console.log(
    `pgvigil round-trip bench: one operation every ${o.every} ms per child process, CPU over ${o.seconds} s after ${o.warmup} s; flags ${DAEMON_NODE_FLAGS.join(' ')}`,
  );
  try {
    const state = await localUp({
      dir,
      apiPort: 0,
      nodes: 2,
      sentinels: 1,
      redis: 1,
      agents: false,
      backups: false,
      progress: () => undefined,
    });
    // the one sentinel local up starts would add its own probes: only the children run
    process.kill(state.sentinels[0]!.pid, 'SIGTERM');
    const stateFile = join(dir, 'state.json');
    const paced = await Promise.all(OPS.map((op) => child(op, stateFile, o)));
    const hot = await child('select1-hot', stateFile, o);
    const rows = [...paced, hot];
    for (const r of rows)
      console.log(
        `  ${r.op.padEnd(12)} ${r.cpuUsPerOp.toFixed(0).padStart(6)} us of CPU per operation` +
          (r.coreShare === null
            ? ' (hot loop of 2000)'
            : `  (${r.count} operations, ${r.coreShare.toFixed(2)} % of a core)`),
      );
    if (values.json) console.log(JSON.stringify({ params: o, rows }));
  } finally {
    await localDown({ dir, quiet: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:roundtrip failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
