/** One `bench:peers` trial: a fresh cluster, idle footprint, the writer, the crash, the check. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  findPrimary,
  footprint,
  type RunningCluster,
  sleep,
  type SystemUnderTest,
  tempDirs,
  waitFor,
  withConn,
  Writer,
} from './common.js';
import { handToPostgres } from './os.js';

export const CONSECUTIVE_OK = 20;
const WARMUP_MS = 1000;

export interface PeerTrial {
  system: string;
  profile: string;
  trial: number;
  ok: boolean;
  error?: string;
  crashed?: string;
  crashToFirstAckMs: number | null;
  acknowledged: number;
  notAcknowledged: number;
  lostAcknowledged: number | null;
  idleCpuPct: number | null;
  idleRssMb: number | null;
  haProcesses: number | null;
}

export interface TrialOptions {
  intervalMs: number;
  idleSeconds: number;
  warmupSeconds: number;
  timeoutMs: number;
}

async function waitTable(c: RunningCluster): Promise<void> {
  for (const port of c.ports)
    await waitFor(`bench table on port ${port}`, 20_000, () =>
      withConn(c, port, 1000, async (db) => {
        const r = await db.query<{ ok: boolean }>(
          "SELECT to_regclass('public.bench') IS NOT NULL AS ok",
        );
        return r.rows[0]?.ok === true;
      }),
    );
}

export async function peerTrial(
  sut: SystemUnderTest,
  trial: number,
  o: TrialOptions,
): Promise<PeerTrial> {
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-peers-'));
  handToPostgres(dir);
  tempDirs.add(dir);
  const r: PeerTrial = {
    system: sut.system,
    profile: sut.profile,
    trial,
    ok: false,
    crashToFirstAckMs: null,
    acknowledged: 0,
    notAcknowledged: 0,
    lostAcknowledged: null,
    idleCpuPct: null,
    idleRssMb: null,
    haProcesses: null,
  };
  let cluster: RunningCluster | undefined;
  let writer: Writer | undefined;
  try {
    cluster = await sut.start(dir);
    const c = cluster;
    let primary: number | null = null;
    await waitFor(
      'a writable primary',
      60_000,
      async () => (primary = await findPrimary(c)) !== null,
    );
    await withConn(c, primary!, 2000, (db) =>
      db.query('CREATE TABLE bench (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())'),
    );
    await waitTable(c);
    await sleep(o.warmupSeconds * 1000);
    const idle = await footprint(() => c.haPids(), o.idleSeconds);
    r.idleCpuPct = idle.cpuPct;
    r.idleRssMb = idle.rssMb;
    r.haProcesses = idle.processes;

    writer = new Writer(c, o.intervalMs);
    writer.start();
    await sleep(WARMUP_MS);
    writer.oldPort = primary!;
    const t0 = performance.now();
    writer.crashAt = t0;
    r.crashed = await c.crash(primary!);
    while (writer.consecutiveOnNew < CONSECUTIVE_OK && performance.now() - t0 < o.timeoutMs)
      await sleep(5);
    await writer.stop();
    const first = writer.firstAckOnNew as { atMono: number; port: number } | null;
    r.acknowledged = writer.acked.length;
    r.notAcknowledged = writer.notAcked;
    r.ok = writer.consecutiveOnNew >= CONSECUTIVE_OK;
    if (first) {
      r.crashToFirstAckMs = first.atMono - t0;
      const ids = writer.acked.map((a) => a.id);
      const found = await withConn(c, first.port, 2000, (db) =>
        db.query<{ id: string }>('SELECT id FROM bench WHERE id = ANY($1::bigint[])', [ids]),
      );
      const present = new Set(found.rows.map((x) => Number(x.id)));
      r.lostAcknowledged = ids.filter((id) => !present.has(id)).length;
    }
  } catch (err) {
    r.error = (err as Error).message.split('\n')[0];
  } finally {
    await writer?.stop().catch(() => undefined);
    await cluster?.teardown().catch((e: Error) => process.stderr.write(`teardown: ${e.message}\n`));
    tempDirs.delete(dir);
    if (!process.env.PEERS_KEEP) rmSync(dir, { recursive: true, force: true });
  }
  return r;
}
