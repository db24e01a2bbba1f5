/**
 * bench/chaos/checks.ts: each invariant passes on a good history and FAILS on a bad one (a
 * check that cannot fail is a defect).
 */
import { describe, expect, it } from 'vitest';

import {
  type Ack,
  checkConverged,
  checkEventsAgree,
  checkLostWrites,
  checkNoFalseFailover,
  checkSinglePrimary,
  type ExecutedFault,
} from '../../../bench/chaos/checks.js';
import type { StampedEvent } from '../../../src/core/events.js';
import type { Topology } from '../../../src/core/model.js';

const T0 = Date.parse('2026-12-03T08:00:00.000Z');

/** acks every 20 ms on `server` over [from, to) ms after T0, 2 ms round trip */
function acks(server: string, from: number, to: number, seq0: number, lsn0 = 1000): Ack[] {
  const out: Ack[] = [];
  for (let t = from, i = 0; t < to; t += 20, i++)
    out.push({
      seq: seq0 + i,
      writer: `w-${server}`,
      server,
      epoch: null,
      sendAt: T0 + t,
      ackAt: T0 + t + 2,
      lsn: lsn0 + i * 100,
    });
  return out;
}

const at = (ms: number) => new Date(T0 + ms).toISOString();
function ev(e: Record<string, unknown>, ms: number): StampedEvent {
  return { cluster: 'local', at: at(ms), id: String(ms), ...e } as unknown as StampedEvent;
}
const topo = (epoch: number, primary: string): Topology =>
  ({ epoch, primary, nodes: [], state: 'ok' }) as unknown as Topology;

describe('check (a) single primary', () => {
  it('a failover (pg1 stops, pg2 starts 100 ms later) and a failback are no violation', () => {
    const history = [
      ...acks('pg1', 0, 1000, 1),
      ...acks('pg2', 1100, 3000, 1000),
      ...acks('pg1', 3200, 4000, 2000),
    ];
    expect(checkSinglePrimary(history)).toEqual([]);
  });

  it('two servers acknowledging in the same 500 ms is a violation, with the overlap', () => {
    const v = checkSinglePrimary([...acks('pg1', 0, 1500, 1), ...acks('pg2', 1000, 3000, 1000)]);
    expect(v.length).toBeGreaterThan(0);
    expect(v[0]!.check).toBe('single-primary');
    expect(v[0]!.overlapMs as number).toBeGreaterThan(400);
  });

  it('one stray ack of another server inside a period is a violation', () => {
    const stray: Ack = { ...acks('pg2', 500, 501, 9000)[0]! };
    expect(checkSinglePrimary([...acks('pg1', 0, 1000, 1), stray])).toHaveLength(1);
  });
});

describe('check (b) lost writes', () => {
  const history = [...acks('pg1', 0, 1000, 1), ...acks('pg2', 1100, 2000, 1000, 50_000)];
  const present = new Set(history.map((a) => a.seq));
  const failover = ev(
    {
      type: 'failover-completed',
      epoch: 2,
      from: 'pg1',
      to: 'pg2',
      durationMs: 100,
      lostBytesUpperBound: 300,
    },
    1050,
  );

  it('nothing lost: no violation in either mode', () => {
    for (const mode of ['sync', 'async'] as const)
      expect(
        checkLostWrites({ acks: history, present, mode, events: [failover], staleMs: 0 })
          .violations,
      ).toEqual([]);
  });

  it('sync: one lost write is a violation', () => {
    const p = new Set(present);
    p.delete(49);
    const r = checkLostWrites({
      acks: history,
      present: p,
      mode: 'sync',
      events: [failover],
      staleMs: 0,
    });
    expect(r.lost).toHaveLength(1);
    expect(r.violations[0]!.check).toBe('lost-write');
  });

  it('async: the last writes before a failover within its reported lag pass; beyond it fail', () => {
    const within = new Set(present);
    for (const s of [48, 49, 50]) within.delete(s); // 200 bytes of WAL <= 300
    expect(
      checkLostWrites({
        acks: history,
        present: within,
        mode: 'async',
        events: [failover],
        staleMs: 0,
      }).violations,
    ).toEqual([]);
    const beyond = new Set(present);
    for (let s = 40; s <= 50; s++) beyond.delete(s); // 1000 bytes > 300
    const v = checkLostWrites({
      acks: history,
      present: beyond,
      mode: 'async',
      events: [failover],
      staleMs: 0,
    }).violations;
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toMatch(/more than its reported lostBytesUpperBound 300/);
    // the WAL of the last staleMs before the crash is allowed on top (probe staleness)
    expect(
      checkLostWrites({
        acks: history,
        present: beyond,
        mode: 'async',
        events: [failover],
        staleMs: 300,
      }).violations,
    ).toEqual([]);
  });

  it('async: a write lost with no failover after it, or over a switchover, is a violation', () => {
    const p = new Set(present);
    p.delete(1010); // a pg2 write: pg2 never lost the primary role
    expect(
      checkLostWrites({ acks: history, present: p, mode: 'async', events: [failover], staleMs: 0 })
        .violations[0]!.message,
    ).toMatch(/no failover away/);
    const sw = ev(
      { type: 'switchover-completed', epoch: 2, from: 'pg1', to: 'pg2', durationMs: 100 },
      1050,
    );
    const q = new Set(present);
    q.delete(50);
    expect(
      checkLostWrites({ acks: history, present: q, mode: 'async', events: [sw], staleMs: 0 })
        .violations[0]!.message,
    ).toMatch(/switchover-completed/);
  });
});

describe('check (b) lost writes after an isolation (the sentinels lost sight of the primary)', () => {
  // pg1 cut off at 500 ms; it acks until its lease fences it at 1000 ms; pg2 promoted at 1100
  const history = [...acks('pg1', 0, 1000, 1), ...acks('pg2', 1100, 2000, 1000, 50_000)];
  const failover = ev(
    {
      type: 'failover-completed',
      epoch: 2,
      from: 'pg1',
      to: 'pg2',
      durationMs: 100,
      lostBytesUpperBound: 0,
    },
    1050,
  );
  const cut: ExecutedFault = {
    n: 1,
    kind: 'isolate-primary',
    target: 'primary',
    resolved: 'pg1',
    startAt: T0 + 500,
    endAt: T0 + 4000,
  };
  const lostFrom = (from: number, to: number) => {
    const p = new Set(history.map((a) => a.seq));
    for (let s = from; s <= to; s++) p.delete(s);
    return p;
  };
  const opts = {
    acks: history,
    mode: 'async' as const,
    events: [failover],
    staleMs: 0,
    faults: [cut],
    graceMs: 15000,
    fenceByMs: 600,
  };

  it('what pg1 acknowledged after the cut and before its lease ran out may be lost', () => {
    expect(checkLostWrites({ ...opts, present: lostFrom(26, 50) }).violations).toEqual([]);
  });
  it('writes from before the cut, beyond the reported lag, may not', () => {
    const v = checkLostWrites({ ...opts, present: lostFrom(10, 50) }).violations;
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toMatch(/after the sentinels lost sight of pg1/);
  });
  it('a failover held by the cooldown, long after the cut ended, is judged from the cut', () => {
    // pg1 fenced by its lease, the cut healed at 4 s, the failover only at 40 s (rule 6)
    const late: StampedEvent = { ...failover, at: at(40_000), id: '40000' };
    const recovered: ExecutedFault = { ...cut, recoveredMs: 37_000 };
    const r = checkLostWrites({
      ...opts,
      events: [late],
      faults: [recovered],
      present: lostFrom(26, 50),
    });
    expect(r.violations).toEqual([]);
  });
  it('a lost write sent after the lease must have fenced pg1 is a violation', () => {
    const v = checkLostWrites({ ...opts, present: lostFrom(26, 50), fenceByMs: 300 }).violations;
    expect(v.some((x) => /must have fenced it/.test(x.message))).toBe(true);
  });
});

describe('check (c) converged', () => {
  it('within the bound passes; not converged or too late fails', () => {
    expect(checkConverged({ ok: true, afterMs: 5000, boundMs: 60000, detail: '' })).toEqual([]);
    expect(
      checkConverged({ ok: false, afterMs: 60000, boundMs: 60000, detail: 'pg2 not streaming' }),
    ).toHaveLength(1);
    expect(checkConverged({ ok: true, afterMs: 61000, boundMs: 60000, detail: '' })).toHaveLength(
      1,
    );
  });
});

describe('check (d) events agree with the final topology', () => {
  const events = [
    ev(
      {
        type: 'failover-completed',
        epoch: 2,
        from: 'pg1',
        to: 'pg2',
        durationMs: 1,
        lostBytesUpperBound: 0,
      },
      10,
    ),
    ev({ type: 'topology-changed', epoch: 2, topology: topo(2, 'pg2') }, 11),
  ];
  it('agreeing events pass', () => {
    expect(checkEventsAgree(events, topo(2, 'pg2'), 'pg1')).toEqual([]);
    expect(checkEventsAgree([], topo(1, 'pg1'), 'pg1')).toEqual([]);
  });
  it('a topology that disagrees with the events fails', () => {
    expect(checkEventsAgree(events, topo(3, 'pg1'), 'pg1').length).toBeGreaterThan(0);
    expect(checkEventsAgree([], topo(2, 'pg2'), 'pg1')).toHaveLength(1);
    expect(checkEventsAgree(events, null, 'pg1')).toHaveLength(1);
  });
});

describe('check (e) no false failover', () => {
  const fault = (kind: ExecutedFault['kind'], startMs: number, endMs: number): ExecutedFault => ({
    n: 1,
    kind,
    target: 'primary',
    resolved: 'pg1',
    startAt: T0 + startMs,
    endAt: T0 + endMs,
  });
  const started = ev(
    { type: 'failover-started', epoch: 2, from: 'pg1', to: 'pg2', kind: 'automatic' },
    5000,
  );
  it('a failover during a primary crash passes', () => {
    expect(checkNoFalseFailover([started], [fault('kill-primary', 2000, 4000)], 15000)).toEqual([]);
  });
  it('a failover held by the cooldown until long after the crash is still the crash', () => {
    const late = ev(
      { type: 'failover-started', epoch: 3, from: 'pg1', to: 'pg2', kind: 'automatic' },
      50_000,
    );
    const crash = { ...fault('kill-primary', 2000, 4000), recoveredMs: 47_000 };
    expect(checkNoFalseFailover([late], [crash], 15000)).toEqual([]);
    // once the cluster had recovered from it, the same crash explains nothing
    expect(checkNoFalseFailover([late], [{ ...crash, recoveredMs: 1000 }], 15000)).toHaveLength(1);
    // nor does a crash before a later fault that does not justify one
    const later = { ...fault('stop-agent', 30_000, 35_000), n: 2, recoveredMs: 20_000 };
    expect(checkNoFalseFailover([late], [crash, later], 15000)).toHaveLength(1);
  });

  it('a failover while only the sentinels were cut from the primary fails, as one with no fault', () => {
    const v = checkNoFalseFailover([started], [fault('cut-sentinels-primary', 2000, 8000)], 15000);
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toMatch(/cut-sentinels-primary/);
    expect(checkNoFalseFailover([started], [], 15000)).toHaveLength(1);
  });
});
