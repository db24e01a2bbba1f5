/**
 * One chaos run (`npm run chaos`, main.ts; the tests call `runChaos` directly): a fresh
 * `local up --netns` cluster (2 nodes with agents, 3 sentinels, 3 Redis servers), the workload
 * of workload.ts, the faults of schedule.ts one at a time, then the checks of checks.ts.
 *
 * Bounds (stated, README "Fault runner"):
 * - between faults: the cluster must be healthy again within `convergeMs` (default
 *   cooldownMs + 30 s = 90 s: a primary lost within the cooldown of the last failover stays
 *   without a successor until the cooldown ends, rule 6) after a fault is reverted, else a `recovery` violation and the run stops there; healthy =
 *   the committed topology `ok`, its primary not in recovery, every other node in recovery
 *   with its WAL receiver streaming from that primary, and the pool writer's latest
 *   acknowledged write came from that primary less than 2 s ago; then `SETTLE_MS` of quiet;
 * - after the last fault: the same predicate within `convergeMs` (check c);
 * - check a: `GAP_MS` between acks splits a server's periods; check b: `staleMs` = 3 probe
 *   intervals, `fenceByMs` = leaseMs + fenceMs of the cluster's config; check e: `GRACE_MS` after a justifying fault ends.
 *
 * Teardown: `localDown` (PIDs of state.json, namespaces of netns.json) in `finally`, and from
 * `abortChaos()` on SIGINT/SIGTERM (main.ts).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { RedisCoordinationStore } from '../../src/adapters/redis/store.js';
import { TIMING_DEFAULTS } from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/load.js';
import type { StampedEvent } from '../../src/core/events.js';
import type { Topology } from '../../src/core/model.js';
import { subscribe } from '../../src/events/subscribe.js';
import { localDown, localUp } from '../../src/local/cluster.js';
import { readNetns } from '../../src/local/netns.js';
import {
  type LocalSecrets,
  localSecrets,
  type LocalState,
  superuserConnection,
} from '../../src/local/state.js';
import {
  type Ack,
  checkConverged,
  checkEventsAgree,
  checkLostWrites,
  checkNoFalseFailover,
  checkSinglePrimary,
  type ExecutedFault,
  type Violation,
} from './checks.js';
import { applyFault } from './faults.js';
import { describeFault, drawSchedule, type Fault, type FaultKind } from './schedule.js';
import { CREATE_TABLE, now, startWorkload, TABLE, type Workload } from './workload.js';

export const SETTLE_MS = 3000;
export const GAP_MS = 1000;
export const GRACE_MS = 15_000;
/** over the cooldown: a primary lost within it gets no successor before it ends (rule 6) */
export const CONVERGE_MARGIN_MS = 30_000;
export const defaultConvergeMs = (profile: 'default' | 'fast'): number =>
  TIMING_DEFAULTS[profile].cooldownMs + CONVERGE_MARGIN_MS;
const FRESH_ACK_MS = 2000;

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  mode: 'async' | 'sync';
  profile?: 'default' | 'fast';
  kinds?: FaultKind[];
  convergeMs?: number;
  /** progress lines (stderr in main.ts) */
  log?: (line: string) => void;
  /** where the ledger, report and logs go (default a new temp dir) */
  outDir?: string;
}

export interface FaultRecord extends ExecutedFault {
  holdMs: number;
  note: string;
  /** ms from revert to healthy again (null: not within the bound) */
  recoveredMs: number | null;
}

export interface ChaosReport {
  seed: number;
  mode: 'async' | 'sync';
  profile: 'default' | 'fast';
  durationMs: number;
  elapsedMs: number;
  unsafe: string | null;
  schedule: string[];
  faults: FaultRecord[];
  violations: Violation[];
  acks: { total: number; byServer: Record<string, number>; byWriter: Record<string, number> };
  lost: number;
  writeErrors: number;
  reads: number;
  readErrors: number;
  failovers: { epoch: number; from: string; to: string; at: string }[];
  switchovers: { epoch: number; from: string; to: string; at: string }[];
  finalTopology: { epoch: number; primary: string } | null;
  converge: { ms: number | null; boundMs: number };
  replay: string;
  outDir: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let aborter: (() => Promise<void>) | null = null;
/** Tear the running cluster down (SIGINT/SIGTERM in main.ts). */
export async function abortChaos(): Promise<void> {
  await aborter?.();
}

export function replayCommand(
  o: Pick<ChaosOptions, 'seed' | 'durationMs' | 'mode' | 'profile' | 'kinds'>,
): string {
  const env = process.env.PGVIGIL_TEST_UNSAFE
    ? `PGVIGIL_TEST_UNSAFE=${process.env.PGVIGIL_TEST_UNSAFE} `
    : '';
  return (
    `${env}npm run chaos -- --seed ${o.seed} --duration ${Math.round(o.durationMs / 1000)}s` +
    (o.mode === 'sync' ? ' --sync' : '') +
    (o.profile === 'fast' ? ' --profile fast' : '') +
    (o.kinds ? ` --faults ${o.kinds.join(',')}` : '')
  );
}

async function sqlOn<R extends pg.QueryResultRow>(
  state: LocalState,
  secrets: LocalSecrets,
  name: string,
  text: string,
): Promise<R[]> {
  const node = state.nodes.find((n) => n.name === name)!;
  const c = new pg.Client({
    ...superuserConnection(state, node, secrets),
    connectionTimeoutMillis: 1000,
    query_timeout: 5000,
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

interface Health {
  ok: boolean;
  detail: string;
  topology: Topology | null;
}

async function health(
  state: LocalState,
  secrets: LocalSecrets,
  store: RedisCoordinationStore,
  acks: readonly Ack[],
): Promise<Health> {
  let t: Topology | null;
  try {
    t = (await store.readTopology(state.cluster)).value;
  } catch (err) {
    return {
      ok: false,
      detail: `no topology from a Redis majority: ${(err as Error).message}`,
      topology: null,
    };
  }
  if (!t) return { ok: false, detail: 'no topology', topology: null };
  if (t.state !== 'ok') return { ok: false, detail: `topology state ${t.state}`, topology: t };
  const primary = state.nodes.find((n) => n.name === t.primary)!;
  try {
    const [p] = await sqlOn<{ r: boolean }>(
      state,
      secrets,
      primary.name,
      'SELECT pg_is_in_recovery() AS r',
    );
    if (p!.r)
      return { ok: false, detail: `${primary.name} (the primary) is in recovery`, topology: t };
    for (const n of state.nodes) {
      if (n.name === primary.name) continue;
      const rows = await sqlOn<{
        r: boolean;
        status: string | null;
        host: string | null;
        port: number | null;
      }>(
        state,
        secrets,
        n.name,
        'SELECT pg_is_in_recovery() AS r, w.status, w.sender_host AS host, w.sender_port AS port FROM (SELECT 1) x LEFT JOIN pg_stat_wal_receiver w ON true',
      );
      const s = rows[0]!;
      if (!s.r) return { ok: false, detail: `${n.name} is not in recovery`, topology: t };
      if (s.status !== 'streaming' || s.host !== primary.host || s.port !== primary.port)
        return {
          ok: false,
          detail: `${n.name} receiver ${s.status ?? 'absent'} from ${s.host ?? '?'}:${s.port ?? '?'}, not streaming from ${primary.name}`,
          topology: t,
        };
    }
  } catch (err) {
    return { ok: false, detail: `SQL: ${(err as Error).message}`, topology: t };
  }
  let last: Ack | undefined;
  for (let i = acks.length - 1; i >= 0; i--)
    if (acks[i]!.writer === 'pool') {
      last = acks[i];
      break;
    }
  if (!last || last.server !== primary.name || now() - last.ackAt > FRESH_ACK_MS)
    return {
      ok: false,
      detail: `the pool writer's last ack ${last ? `came from ${last.server} ${Math.round(now() - last.ackAt)} ms ago` : 'never came'}`,
      topology: t,
    };
  return {
    ok: true,
    detail: `primary ${primary.name} epoch ${t.epoch}, every standby streaming`,
    topology: t,
  };
}

async function waitHealthy(
  get: () => Promise<Health>,
  boundMs: number,
): Promise<{ h: Health; ms: number | null }> {
  const start = now();
  let h = await get();
  while (!h.ok && now() - start < boundMs) {
    await sleep(500);
    h = await get();
  }
  return { h, ms: h.ok ? Math.round(now() - start) : null };
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const profile = o.profile ?? 'default';
  const convergeMs = o.convergeMs ?? defaultConvergeMs(profile);
  const probeIntervalMs = TIMING_DEFAULTS[profile].probeIntervalMs;
  const schedule = drawSchedule({
    seed: o.seed,
    durationMs: o.durationMs,
    sentinels: 3,
    redis: 3,
    ...(o.kinds ? { kinds: o.kinds } : {}),
  });
  const outDir = o.outDir ?? mkdtempSync(join(tmpdir(), `pgvigil-chaos-${o.seed}-`));
  mkdirSync(outDir, { recursive: true });
  log(`seed ${o.seed}, ${o.mode}, profile ${profile}: ${schedule.length} faults`);
  for (const f of schedule) log(`  ${describeFault(f)}`);

  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-chaos-cluster-'));
  const started = now();
  const violations: Violation[] = [];
  const faults: FaultRecord[] = [];
  const events: StampedEvent[] = [];
  let workload: Workload | null = null;
  let store: RedisCoordinationStore | null = null;
  let sub: { close(): Promise<void> } | null = null;
  let tornDown = false;
  const teardown = async (): Promise<void> => {
    if (tornDown) return;
    tornDown = true;
    await workload?.stop().catch(() => undefined);
    await sub?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    if (existsSync(join(dir, 'logs')))
      cpSync(join(dir, 'logs'), join(outDir, 'logs'), { recursive: true });
    await localDown({ dir, quiet: true }).catch((err: Error) => log(`local down: ${err.message}`));
    rmSync(dir, { recursive: true, force: true });
  };
  aborter = teardown;
  try {
    log(`local up --netns in ${dir}`);
    const state = await localUp({
      dir,
      netns: true,
      nodes: 2,
      sentinels: 3,
      redis: 3,
      apiPort: 0,
      profile,
      replicationMode: o.mode,
      progress: () => undefined,
    });
    const secrets = localSecrets(state);
    const net = readNetns(dir)!;
    store = new RedisCoordinationStore({
      urls: state.redis,
      prefix: 'pgvigil',
      commandTimeoutMs: 1000,
      auth: { password: secrets.redisPassword },
    });
    await store.ready(3000);
    await sqlOn(state, secrets, state.nodes[0]!.name, CREATE_TABLE);
    sub = await subscribe({
      cluster: state.cluster,
      redis: state.redis,
      password: secrets.redisPassword,
      since: '0',
      onEvent: (e) => events.push(e),
    });
    workload = await startWorkload(state, secrets, net);
    const get = () => health(state, secrets, store!, workload!.acks);
    const first = await waitHealthy(get, convergeMs);
    if (!first.h.ok)
      throw new Error(`the cluster never became healthy before the faults: ${first.h.detail}`);
    await sleep(SETTLE_MS);

    let lastRevert = now();
    for (const f of schedule) {
      const before = await waitHealthy(get, convergeMs);
      if (!before.h.ok || !before.h.topology) {
        violations.push({
          check: 'recovery',
          message: `not healthy before #${f.n}: ${before.h.detail}`,
          fault: f.n,
        });
        break;
      }
      const startAt = now();
      let applied;
      try {
        applied = await applyFault(f, { dir, state, secrets, topology: before.h.topology });
      } catch (err) {
        log(`#${f.n} ${f.kind}: could not apply: ${(err as Error).message}`);
        faults.push({
          n: f.n,
          kind: f.kind,
          target: f.target,
          resolved: '?',
          startAt,
          endAt: now(),
          holdMs: f.holdMs,
          note: `not applied: ${(err as Error).message}`,
          recoveredMs: null,
        });
        continue;
      }
      log(`#${f.n} ${f.kind} ${applied.resolved}: ${applied.note}`);
      await sleep(f.holdMs);
      let note = applied.note;
      if (applied.revert) {
        try {
          note += `; ${await applied.revert()}`;
        } catch (err) {
          note += `; revert failed: ${(err as Error).message}`;
        }
      }
      const endAt = now();
      lastRevert = endAt;
      const after = await waitHealthy(get, convergeMs);
      const rec: FaultRecord = {
        n: f.n,
        kind: f.kind,
        target: f.target,
        resolved: applied.resolved,
        startAt,
        endAt,
        holdMs: f.holdMs,
        note,
        recoveredMs: after.ms,
      };
      faults.push(rec);
      log(
        `#${f.n} reverted; ${after.h.ok ? `healthy after ${after.ms} ms (${after.h.detail})` : `NOT healthy after ${convergeMs} ms: ${after.h.detail}`}`,
      );
      if (!after.h.ok && f !== schedule[schedule.length - 1]) {
        violations.push({
          check: 'recovery',
          message: `not healthy ${convergeMs} ms after #${f.n} ${f.kind} ${applied.resolved}: ${after.h.detail}`,
          fault: f.n,
        });
        break;
      }
      await sleep(SETTLE_MS);
    }

    // (c) convergence after the last fault: the first healthy observation after its revert
    // (waited for above), confirmed once more now
    const lastRec = faults.at(-1)?.recoveredMs;
    const conv = await waitHealthy(get, Math.max(0, convergeMs - (now() - lastRevert)));
    const convMs = conv.h.ok
      ? lastRec !== null && lastRec !== undefined
        ? lastRec
        : Math.round(now() - lastRevert)
      : null;
    violations.push(
      ...checkConverged({
        ok: conv.h.ok,
        afterMs: convMs ?? convergeMs,
        boundMs: convergeMs,
        detail: conv.h.detail,
      }),
    );
    await sleep(1000);
    await workload.stop();
    const acks = workload.acks;
    const stats = workload.stats;
    workload = null;
    await sleep(1000); // the last events
    const final = (await store.readTopology(state.cluster)).value;
    let present = new Set<number>();
    if (final) {
      const rows = await sqlOn<{ seq: string }>(
        state,
        secrets,
        final.primary,
        `SELECT seq FROM ${TABLE}`,
      );
      present = new Set(rows.map((r) => Number(r.seq)));
    }
    violations.push(...checkSinglePrimary(acks, GAP_MS));
    const { timing } = loadConfig({ file: state.config });
    const lost = checkLostWrites({
      acks,
      present,
      mode: o.mode,
      events,
      staleMs: 3 * probeIntervalMs,
      faults,
      graceMs: GRACE_MS,
      fenceByMs: timing.leaseMs + timing.fenceMs,
    });
    violations.push(...lost.violations);
    violations.push(...checkEventsAgree(events, final, state.nodes[0]!.name));
    violations.push(...checkNoFalseFailover(events, faults, GRACE_MS));

    const count = (key: (a: Ack) => string) =>
      acks.reduce<Record<string, number>>((m, a) => ((m[key(a)] = (m[key(a)] ?? 0) + 1), m), {});
    const moves = (type: 'failover-completed' | 'switchover-completed') =>
      events.flatMap((e) =>
        e.type === type ? [{ epoch: e.epoch, from: e.from, to: e.to, at: e.at }] : [],
      );
    writeFileSync(
      join(outDir, 'ledger.jsonl'),
      acks.map((a) => JSON.stringify(a)).join('\n') + '\n',
    );
    // the sequence numbers the final primary holds: the lost-write check can be redone offline
    writeFileSync(
      join(outDir, 'present.json'),
      JSON.stringify([...present].sort((x, y) => x - y)) + '\n',
    );
    writeFileSync(
      join(outDir, 'events.jsonl'),
      events.map((e) => JSON.stringify(e)).join('\n') + '\n',
    );
    const report: ChaosReport = {
      seed: o.seed,
      mode: o.mode,
      profile,
      durationMs: o.durationMs,
      elapsedMs: Math.round(now() - started),
      unsafe: process.env.PGVIGIL_TEST_UNSAFE ?? null,
      schedule: schedule.map(describeFault),
      faults,
      violations,
      acks: {
        total: acks.length,
        byServer: count((a) => a.server),
        byWriter: count((a) => a.writer),
      },
      lost: lost.lost.length,
      writeErrors: stats.writeErrors,
      reads: stats.reads,
      readErrors: stats.readErrors,
      failovers: moves('failover-completed'),
      switchovers: moves('switchover-completed'),
      finalTopology: final ? { epoch: final.epoch, primary: final.primary } : null,
      converge: { ms: convMs, boundMs: convergeMs },
      replay: replayCommand({ ...o, profile }),
      outDir,
    };
    writeFileSync(join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    return report;
  } finally {
    await teardown();
    aborter = null;
  }
}

export type { Fault };
