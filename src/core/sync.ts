/**
 * Synchronous replication (`replication.mode: sync`), after Patroni's synchronous_mode.
 *
 * The leader keeps ONE synchronous standby: the primary's `synchronous_standby_names` is
 * `FIRST 1 ("pgX")`, and `topology.syncStandbys` records which standby may be promoted
 * automatically (safety rule 4, enforced by candidates.ts with `not-sync`). The invariant this
 * module protects:
 *
 *   a standby is recorded in `syncStandbys` only while every commit the primary acknowledged
 *   is guaranteed to be on it.
 *
 * Hence the ordering rules, each a step list run in order (the runtime stops at the first step
 * that fails, so a later step never runs without the earlier one):
 * - Adding X: set the names to X first; record X only on a LATER tick, once the primary shows
 *   X `streaming` + `sync` and X has replayed the primary's LSN seen on the first tick the
 *   names were in effect (the "bar": commits acknowledged locally before the names changed
 *   must be on X too; Patroni 3 keeps the same bar).
 * - Replacing or dropping a recorded standby: un-record it FIRST (`syncStandbys = []`), then
 *   change the names. Once the names no longer name X, commits stop waiting for X, so X may
 *   miss acknowledged writes: it must not be failover-eligible by then. (Patroni does the same:
 *   it narrows the recorded set to the intersection before changing the names.)
 * - No healthy standby: record `[]` first (no automatic failover can pick a standby that may
 *   miss writes), then clear the names so the primary keeps accepting writes. Trade-off: the
 *   primary stays writable and automatic failover is off until a standby is synchronous
 *   again. A `strict` mode (never acknowledge without a standby) is not built.
 * - A recorded standby whose name the primary's setting does not carry (stale after a
 *   failover or a manual edit) is un-recorded at once: it is already unsafe.
 *
 * Choice of the standby: keep the recorded one while healthy (no flapping), else the one the
 * names already point at (pending), else the healthy standby with the lowest lag, then the
 * highest priority, then the name. Healthy = this sentinel reaches it as a standby, it is not
 * tagged `noFailover` (a sync standby that may never be promoted buys no failover), and the
 * primary shows it `streaming`. A recorded standby is given up only after two consecutive
 * ticks see it unhealthy: a primary that was just SIGKILLed can still answer one probe from an
 * orphan backend after its walsenders died, and un-recording then would forbid the failover.
 */
import type { CandidateNode } from './candidates.js';
import { compareText } from './compare.js';
import { formatBytes } from './format.js';
import type { NodeObservation } from './health.js';
import type { ReplicaStat, Topology } from './model.js';

/** `FIRST 1 ("pg2")`: one synchronous standby, its name quoted ("" escapes "). */
export function syncStandbyNamesFor(standby: string): string {
  return `FIRST 1 ("${standby.replace(/"/g, '""')}")`;
}

/** The standby named by a value in our own format; null for '' or any other format. */
export function parseSyncStandbyNames(value: string): string | null {
  const m = /^FIRST 1 \("((?:[^"]|"")+)"\)$/.exec(value.trim());
  return m ? m[1]!.replace(/""/g, '"') : null;
}

/** What the manager remembers between ticks (plain data, returned by every plan). */
export interface SyncMemory {
  /** the primary's names have named `standby` since at least primary LSN `lsn` (the bar) */
  named?: { primary: string; standby: string; lsn: number };
  /** the recorded standby was first seen unhealthy on the tick at `sinceMono` */
  lost?: { standby: string; sinceMono: number };
}

export interface SyncInput {
  topology: Topology;
  nodes: readonly CandidateNode[];
  observations: Readonly<Record<string, NodeObservation | undefined>>;
  memory: SyncMemory;
  nowMono: number;
}

export type SyncStep =
  | { type: 'record'; syncStandbys: string[]; reason: string }
  | { type: 'set-names'; value: string; standby: string | null };

export type SyncReason =
  | 'primary-not-observed' // no fresh successful probe of the primary as a primary: do nothing
  | 'names-unknown' // the probe did not read synchronous_standby_names
  | 'in-sync' // steady: names and record agree on a healthy standby
  | 'confirming-loss' // the recorded standby looks unhealthy: check again next tick
  | 'set-standby' // (un-record, then) point the names at a new standby
  | 'waiting-for-sync' // names point at it; not streaming + sync yet
  | 'waiting-for-catch-up' // sync, but has not replayed the bar yet
  | 'record-standby' // sync and caught up: record it
  | 'no-healthy-standby'; // (un-record, then) clear the names

export interface SyncPlan {
  reason: SyncReason;
  evidence: string;
  /** the standby the names should carry; null for none */
  target: string | null;
  /** run in order; stop at the first that fails */
  steps: SyncStep[];
  memory: SyncMemory;
}

interface Healthy {
  name: string;
  row: ReplicaStat;
  priority: number;
}

function healthyStandbys(input: SyncInput, replicas: readonly ReplicaStat[]): Healthy[] {
  const primary = input.topology.primary;
  const out: Healthy[] = [];
  for (const node of input.nodes) {
    if (node.name === primary || node.noFailover) continue;
    const obs = input.observations[node.name];
    if (!obs || obs.verdict.down || !obs.last?.ok || obs.last.role !== 'standby') continue;
    const row = replicas.find((r) => r.name === node.name && r.state === 'streaming');
    if (row) out.push({ name: node.name, row, priority: node.priority });
  }
  return out;
}

/** Lowest lag, then highest priority, then name: every sentinel picks the same standby. */
function compareHealthy(a: Healthy, b: Healthy): number {
  return a.row.lagBytes - b.row.lagBytes || b.priority - a.priority || compareText(a.name, b.name);
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** One tick of the synchronous-standby manager: the steps to run, in order, and why. */
export function planSync(input: SyncInput): SyncPlan {
  const { topology, memory, nowMono } = input;
  const primary = topology.primary;
  const pObs = input.observations[primary];
  const p = pObs?.last;
  if (!pObs || pObs.verdict.down || !p?.ok || p.role !== 'primary')
    return plan(
      'primary-not-observed',
      `no fresh probe of ${primary} as a primary`,
      null,
      [],
      memory,
    );
  if (p.syncStandbyNames === undefined)
    return plan(
      'names-unknown',
      `synchronous_standby_names of ${primary} not read`,
      null,
      [],
      memory,
    );

  const configured = p.syncStandbyNames;
  const named = parseSyncStandbyNames(configured);
  const recorded = topology.syncStandbys;
  const healthy = healthyStandbys(input, p.replicas ?? []);
  const isHealthy = (n: string | null): n is string =>
    n !== null && healthy.some((h) => h.name === n);
  const shown = `names '${configured}', recorded [${recorded.join(', ')}]`;
  const unrecord = (reason: string): SyncStep[] =>
    recorded.length > 0 ? [{ type: 'record', syncStandbys: [], reason }] : [];

  // The recorded standby the names still carry (so still guaranteed) looks unhealthy:
  // give it up only when the previous tick saw that too.
  const current = recorded.find((n) => n !== primary && n === named) ?? null;
  let lost: SyncMemory['lost'];
  if (current !== null && !isHealthy(current)) {
    lost =
      memory.lost?.standby === current ? memory.lost : { standby: current, sinceMono: nowMono };
    if (lost.sinceMono >= nowMono) {
      const evidence = `${current} not healthy since this tick; ${shown}`;
      return plan('confirming-loss', evidence, current, [], { ...memory, lost });
    }
  }
  const keep = (m: SyncMemory): SyncMemory => (lost ? { ...m, lost } : m);

  // Keep what is in place while healthy (no flapping), else lowest lag, priority, name.
  const best = [...healthy].sort(compareHealthy)[0]?.name ?? null;
  const target = [current, named, ...recorded].find(isHealthy) ?? best;

  if (target === null) {
    const why = `no healthy standby streaming from ${primary}`;
    const steps = unrecord(`sync standby none: ${why}`);
    if (configured.trim() !== '') steps.push({ type: 'set-names', value: '', standby: null });
    return plan('no-healthy-standby', `${why}; ${shown}`, null, steps, keep({}));
  }

  if (named !== target) {
    const why = lost ? `${lost.standby} lost, ${target} chosen` : `${target} chosen`;
    const steps: SyncStep[] = [
      ...unrecord(`sync standby none: switching to ${target}`),
      { type: 'set-names', value: syncStandbyNamesFor(target), standby: target },
    ];
    return plan('set-standby', `${why}; ${shown}`, target, steps, keep({}));
  }

  return planNamed({
    primary,
    target,
    row: healthy.find((h) => h.name === target)!.row,
    currentLsn: p.currentLsn,
    recorded,
    memory,
    shown,
    unrecord,
  });
}

function plan(
  reason: SyncReason,
  evidence: string,
  target: string | null,
  steps: SyncStep[],
  mem: SyncMemory,
): SyncPlan {
  return { reason, evidence, target, steps, memory: mem };
}

/**
 * The names carry `target` (a healthy standby): record it once the primary shows it `sync` and
 * it has replayed the bar, the primary's LSN on the first tick the names were seen in effect.
 */
function planNamed(o: {
  primary: string;
  target: string;
  /** the primary's pg_stat_replication row of `target` */
  row: ReplicaStat;
  /** the primary's current LSN, when the probe read it */
  currentLsn: number | undefined;
  recorded: readonly string[];
  memory: SyncMemory;
  /** the names and the record, for evidence */
  shown: string;
  unrecord: (reason: string) => SyncStep[];
}): SyncPlan {
  const { primary, target, row, recorded, memory, shown, unrecord } = o;
  const named0 = memory.named;
  const mem: SyncMemory = named0 ? { named: named0 } : {};
  if (sameList(recorded, [target])) return plan('in-sync', shown, target, [], mem);
  // Anything recorded now is not `target`, and the names moved away from it: not guaranteed.
  const stale = unrecord(`sync standby none: ${target} pending`);
  const bar = named0?.primary === primary && named0.standby === target ? named0.lsn : undefined;
  if (bar === undefined) {
    const next: SyncMemory =
      o.currentLsn === undefined ? {} : { named: { primary, standby: target, lsn: o.currentLsn } };
    const lsn = o.currentLsn ?? 'unknown';
    return plan(
      'waiting-for-catch-up',
      `${target} must replay ${primary}'s LSN ${lsn} (the bar) first; ${shown}`,
      target,
      stale,
      next,
    );
  }
  if (row.syncState !== 'sync')
    return plan(
      'waiting-for-sync',
      `${target} is ${row.state}/${row.syncState}; ${shown}`,
      target,
      stale,
      mem,
    );
  if (row.replayLsn < bar)
    return plan(
      'waiting-for-catch-up',
      `${target} replayed ${row.replayLsn} < bar ${bar} (${formatBytes(bar - row.replayLsn)} to go); ${shown}`,
      target,
      stale,
      mem,
    );
  return plan(
    'record-standby',
    `${target} streaming/sync, replayed ${row.replayLsn} >= bar ${bar}; ${shown}`,
    target,
    [{ type: 'record', syncStandbys: [target], reason: `sync standby ${target}` }],
    mem,
  );
}
