/**
 * The invariants a chaos run checks once the faults stop (pure: data in, violations out; each
 * one has a unit test that makes it fail, test/unit/chaos/checks.test.ts).
 *
 * (a) single-primary: at most one server acknowledged writes at any moment. Per server, its
 *     acks (every writer's) are cut into periods wherever no ack came for `gapMs`; within a
 *     period the server was a writable primary throughout [ack of the first, send of the last]
 *     (each commit happened between its send and its ack; a demotion and a promotion back
 *     within `gapMs` cannot happen). Another server whose write was sent and acknowledged
 *     entirely inside that interval committed while the first one was surely a primary: a
 *     violation. (Conservative by up to one round trip: no false alarm from latency.)
 * (b) lost writes: an acknowledged sequence number missing from the final primary. In sync
 *     mode every one is a violation. In async mode a lost write must be explained by the first
 *     change of primary away from its server after its ack, and that change must be a failover
 *     (a switchover or failback loses nothing, rule 7). The sentinels cannot see what the old
 *     primary wrote after they lost sight of it (the start of the fault that justified the
 *     failover, less `staleMs` = a few probe intervals of reading staleness; without such a
 *     fault, `staleMs` before its last ack), so the lost WAL (LSN span of the lost writes) must
 *     be within the failover's reported `lostBytesUpperBound` plus what the server wrote after
 *     that moment; and no lost write may have been SENT later than `fenceByMs` (leaseMs +
 *     fenceMs) after that fault started: by then the old primary's lease has fenced it.
 * (c) converged: one primary and every other node streaming from it within `boundMs` after
 *     the last fault was reverted (measured by run.ts, judged here).
 * (d) events agree with the final topology: the newest topology-changed event carries the
 *     epoch and primary of the topology on the Redis majority, and the last failover- or
 *     switchover-completed names that primary as `to`.
 * (e) no false failover: every failover-started is the doing of a fault that justifies it
 *     (schedule.ts `justifiesFailover`: primary down, or cut off from standbys and Redis):
 *     `faultBehind`, the last fault started before it, while the cluster had not yet recovered
 *     from it (+ 2 s) or within `graceMs` of its end.
 */
import type { StampedEvent } from '../../src/core/events.js';
import type { Topology } from '../../src/core/model.js';
import { type FaultKind, KINDS } from './schedule.js';

export interface Ack {
  seq: number;
  /** pool | ns-pg1 | ... */
  writer: string;
  /** node name of the server that acknowledged it */
  server: string;
  /** the epoch the client believed (pool writer; null for the node-local writers) */
  epoch: number | null;
  /** ms, one clock for every process of this machine (performance.timeOrigin + now()) */
  sendAt: number;
  ackAt: number;
  /** pg_current_wal_insert_lsn() right after the insert, as a number (null: unknown) */
  lsn: number | null;
}

export interface Violation {
  check:
    | 'single-primary'
    | 'lost-write'
    | 'converged'
    | 'recovery'
    | 'events-topology'
    | 'false-failover';
  message: string;
  [k: string]: unknown;
}

export interface ExecutedFault {
  n: number;
  kind: FaultKind;
  target: string;
  /** the member names it hit (roles resolved) */
  resolved: string;
  startAt: number;
  endAt: number;
  /** ms from its revert until the cluster was healthy again (null: never; absent: unknown) */
  recoveredMs?: number | null;
}

/** After the cluster recovered from a fault, how long a failover may still be its doing. */
export const AFTER_RECOVERY_MS = 2000;

/**
 * The fault a failover at `at` is the doing of: the last one started before it (faults run one
 * at a time), if `at` lies before the cluster recovered from it (+ AFTER_RECOVERY_MS) or within
 * `graceMs` of its end. A primary lost within the cooldown of the last failover gets its
 * successor only when the cooldown ends (rule 6), long after the fault: the recovery window
 * covers that.
 */
export function faultBehind(
  faults: readonly ExecutedFault[],
  at: number,
  graceMs: number,
): ExecutedFault | undefined {
  const f = faults.filter((x) => x.startAt <= at).sort((a, b) => b.startAt - a.startAt)[0];
  if (!f) return undefined;
  const recovered =
    f.recoveredMs === null
      ? Number.POSITIVE_INFINITY
      : f.endAt + (f.recoveredMs ?? 0) + AFTER_RECOVERY_MS;
  return at <= Math.max(f.endAt + graceMs, recovered) ? f : undefined;
}

// ---- (a) ---------------------------------------------------------------------------------

interface Period {
  server: string;
  from: number;
  to: number;
  acks: number;
}

export function periodsOf(acks: readonly Ack[], gapMs: number): Period[] {
  const byServer = new Map<string, Ack[]>();
  for (const a of acks)
    (byServer.get(a.server) ?? byServer.set(a.server, []).get(a.server)!).push(a);
  const out: Period[] = [];
  for (const [server, list] of byServer) {
    list.sort((x, y) => x.ackAt - y.ackAt);
    let first = list[0]!;
    let last = first;
    let count = 1;
    const close = () => out.push({ server, from: first.ackAt, to: last.sendAt, acks: count });
    for (const a of list.slice(1)) {
      if (a.sendAt - last.ackAt > gapMs) {
        close();
        first = a;
        count = 0;
      }
      last = a;
      count++;
    }
    close();
  }
  return out;
}

export function checkSinglePrimary(acks: readonly Ack[], gapMs = 1000): Violation[] {
  const periods = periodsOf(acks, gapMs).filter((p) => p.to > p.from);
  const out: Violation[] = [];
  for (const p of periods) {
    const inside = new Map<string, Ack[]>();
    for (const a of acks)
      if (a.server !== p.server && a.sendAt > p.from && a.ackAt < p.to)
        (inside.get(a.server) ?? inside.set(a.server, []).get(a.server)!).push(a);
    for (const [server, list] of inside) {
      const first = Math.min(...list.map((a) => a.sendAt));
      const last = Math.max(...list.map((a) => a.ackAt));
      out.push({
        check: 'single-primary',
        message: `${server} acknowledged ${list.length} write(s) while ${p.server} surely was a writable primary (${Math.round(Math.min(last, p.to) - Math.max(first, p.from))} ms of overlap)`,
        servers: [p.server, server],
        overlapMs: Math.round(Math.min(last, p.to) - Math.max(first, p.from)),
        period: { server: p.server, from: p.from, to: p.to },
        sample: list.slice(0, 3).map((a) => a.seq),
      });
    }
  }
  return out;
}

// ---- (b) ---------------------------------------------------------------------------------

const wallOf = (e: StampedEvent): number => Date.parse(e.at);

export function checkLostWrites(o: {
  acks: readonly Ack[];
  present: ReadonlySet<number>;
  mode: 'async' | 'sync';
  events: readonly StampedEvent[];
  staleMs: number;
  /** the faults run, and how long after one started a failover may be justified by it */
  faults?: readonly ExecutedFault[];
  graceMs?: number;
  /** leaseMs + fenceMs: the old primary is fenced by then */
  fenceByMs?: number;
}): { lost: Ack[]; violations: Violation[] } {
  const lost = o.acks.filter((a) => !o.present.has(a.seq));
  if (lost.length === 0) return { lost, violations: [] };
  if (o.mode === 'sync')
    return {
      lost,
      violations: [
        {
          check: 'lost-write',
          message: `${lost.length} acknowledged write(s) missing from the final primary in sync mode (none may be)`,
          count: lost.length,
          sample: lost.slice(0, 5).map((a) => ({ seq: a.seq, server: a.server, writer: a.writer })),
        },
      ],
    };
  const changes = o.events
    .filter((e) => e.type === 'failover-completed' || e.type === 'switchover-completed')
    .sort((x, y) => wallOf(x) - wallOf(y));
  const groups = new Map<StampedEvent | null, Ack[]>();
  for (const w of lost) {
    const change =
      changes.find((e) => 'from' in e && e.from === w.server && wallOf(e) >= w.ackAt) ?? null;
    (groups.get(change) ?? groups.set(change, []).get(change)!).push(w);
  }
  const violations: Violation[] = [];
  for (const [change, ws] of groups) {
    const sample = ws.slice(0, 5).map((a) => ({ seq: a.seq, server: a.server, writer: a.writer }));
    if (change === null || change.type !== 'failover-completed') {
      violations.push({
        check: 'lost-write',
        message: `${ws.length} acknowledged write(s) of ${ws[0]!.server} lost ${change ? `over a ${change.type} (epoch ${change.epoch}), which must lose nothing` : 'with no failover away from that server after them'}`,
        count: ws.length,
        sample,
      });
      continue;
    }
    const server = ws[0]!.server;
    const changeAt = wallOf(change);
    const before = o.acks.filter(
      (a) => a.server === server && a.ackAt <= changeAt && a.lsn !== null,
    );
    const lastAck = before.length ? Math.max(...before.map((a) => a.ackAt)) : changeAt;
    // the fault behind it as for (e): a failover held by the cooldown (rule 6) comes long
    // after the fault ended, and the sentinels lost sight of the server when the fault began
    const behind = faultBehind(o.faults ?? [], changeAt, o.graceMs ?? 0);
    const cause = behind && KINDS[behind.kind].justifiesFailover ? behind : undefined;
    const sightLost = (cause ? cause.startAt : lastAck) - o.staleMs;
    if (cause && o.fenceByMs !== undefined) {
      const late = ws.filter((a) => a.sendAt > cause.startAt + o.fenceByMs!);
      if (late.length > 0)
        violations.push({
          check: 'lost-write',
          message: `${late.length} lost write(s) were sent to ${server} more than leaseMs + fenceMs = ${o.fenceByMs} ms after #${cause.n} ${cause.kind} began, when its lease must have fenced it`,
          count: late.length,
          sample: late.slice(0, 5).map((a) => ({ seq: a.seq, server: a.server, writer: a.writer })),
        });
    }
    const lsns = ws.map((a) => a.lsn).filter((l): l is number => l !== null);
    if (lsns.length === 0) continue;
    const span = Math.max(...lsns) - Math.min(...lsns);
    const unseen = before.filter((a) => a.ackAt >= sightLost).map((a) => a.lsn!);
    const stale = unseen.length ? Math.max(...unseen) - Math.min(...unseen) : 0;
    const bound = change.lostBytesUpperBound;
    if (span > bound + stale)
      violations.push({
        check: 'lost-write',
        message: `${ws.length} write(s) lost in the failover ${change.from} -> ${change.to} (epoch ${change.epoch}) span ${span} bytes of WAL, more than its reported lostBytesUpperBound ${bound} + ${stale} written after the sentinels lost sight of ${server}`,
        count: ws.length,
        spanBytes: span,
        lostBytesUpperBound: bound,
        unseenBytes: stale,
        sample,
      });
  }
  return { lost, violations };
}

// ---- (c) ---------------------------------------------------------------------------------

export function checkConverged(c: {
  ok: boolean;
  afterMs: number;
  boundMs: number;
  detail: string;
}): Violation[] {
  if (c.ok && c.afterMs <= c.boundMs) return [];
  return [
    {
      check: 'converged',
      message: `the cluster did not converge within ${c.boundMs} ms after the last fault: ${c.detail}`,
      afterMs: c.afterMs,
      boundMs: c.boundMs,
    },
  ];
}

// ---- (d) ---------------------------------------------------------------------------------

export function checkEventsAgree(
  events: readonly StampedEvent[],
  final: Topology | null,
  initialPrimary: string,
): Violation[] {
  if (final === null)
    return [{ check: 'events-topology', message: 'no topology on the Redis majority at the end' }];
  const out: Violation[] = [];
  const changed = events.filter((e) => e.type === 'topology-changed');
  const newest = changed.reduce<StampedEvent | null>(
    (b, e) => (b === null || e.epoch >= b.epoch ? e : b),
    null,
  );
  if (newest && newest.type === 'topology-changed') {
    if (newest.topology.epoch !== final.epoch || newest.topology.primary !== final.primary)
      out.push({
        check: 'events-topology',
        message: `newest topology-changed event says epoch ${newest.topology.epoch} primary ${newest.topology.primary}, Redis says epoch ${final.epoch} primary ${final.primary}`,
      });
  }
  const completed = events.filter(
    (e) => e.type === 'failover-completed' || e.type === 'switchover-completed',
  );
  const last = completed.reduce<StampedEvent | null>(
    (b, e) => (b === null || e.epoch >= b.epoch ? e : b),
    null,
  );
  const expected = last && 'to' in last ? last.to : initialPrimary;
  if (expected !== final.primary)
    out.push({
      check: 'events-topology',
      message: last
        ? `last ${last.type} (epoch ${last.epoch}) names ${expected} the primary, Redis names ${final.primary}`
        : `no failover or switchover event, yet the primary moved from ${initialPrimary} to ${final.primary}`,
    });
  if (last && last.epoch > final.epoch)
    out.push({
      check: 'events-topology',
      message: `last ${last.type} has epoch ${last.epoch}, newer than the final topology's ${final.epoch}`,
    });
  return out;
}

// ---- (e) ---------------------------------------------------------------------------------

export function checkNoFalseFailover(
  events: readonly StampedEvent[],
  faults: readonly ExecutedFault[],
  graceMs: number,
): Violation[] {
  const out: Violation[] = [];
  for (const e of events) {
    if (e.type !== 'failover-started') continue;
    const at = wallOf(e);
    const during = faultBehind(faults, at, graceMs);
    if (during && KINDS[during.kind].justifiesFailover) continue;
    out.push({
      check: 'false-failover',
      message: `failover ${e.from} -> ${e.to} (epoch ${e.epoch}, ${e.kind}) at ${e.at} with no fault that justifies it${during ? ` (during #${during.n} ${during.kind} ${during.resolved}, which leaves the primary healthy and reachable by a quorum)` : ''}`,
      epoch: e.epoch,
      at: e.at,
      ...(during ? { fault: during.n } : {}),
    });
  }
  return out;
}
