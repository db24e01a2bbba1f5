import { describe, expect, it } from 'vitest';

import {
  type AgentDecision,
  type AgentSnapshot,
  decideAgent,
  type LocalObservation,
  needsVerdict,
  type Verdict,
} from '../../../../src/core/agent/index.js';
import { processOnlyObservation } from '../../../../src/core/agent/model.js';
import type { Topology } from '../../../../src/core/model.js';
import { aTopology, EPOCH, NOW_MONO, NOW_WALL } from '../../../builders/index.js';

const LEASE = 5000;
const DOWN_AFTER = 3000;

const primaryUp: LocalObservation = {
  ...processOnlyObservation({ running: true, standbySignal: false }),
  reachable: true,
  role: 'primary',
};
const standbyOf = (host: string, port: number, slot = 'pg1'): LocalObservation => ({
  ...primaryUp,
  role: 'standby',
  standbySignal: true,
  upstream: { host, port },
  slot,
  walReceiver: { status: 'streaming', senderHost: host, senderPort: port },
});
const stopped = (standbySignal: boolean): LocalObservation => ({
  ...primaryUp,
  running: false,
  reachable: false,
  role: null,
  standbySignal,
});

const verdict = (o: Partial<Verdict> = {}): Verdict => ({
  id: 'v1',
  atWall: NOW_WALL - 200,
  epoch: EPOCH,
  primary: 'pg1',
  kind: 'observe',
  reason: 'paused',
  sinceWall: NOW_WALL - 1000,
  ...o,
});

function snap(o: {
  local?: LocalObservation;
  topology?: Topology | null;
  coordinationOk?: boolean;
  unconfirmedMs?: number;
  verdict?: Verdict | null;
}): AgentSnapshot {
  return {
    node: 'pg1',
    nowMono: NOW_MONO,
    nowWall: NOW_WALL,
    timing: { leaseMs: LEASE, downAfterMs: DOWN_AFTER },
    topology: o.topology === undefined ? aTopology() : o.topology,
    coordinationOk: o.coordinationOk ?? true,
    lastConfirmMono: NOW_MONO - (o.unconfirmedMs ?? 0),
    local: o.local ?? primaryUp,
    verdict: o.verdict ?? null,
  };
}

const pg2Primary = aTopology({ primary: 'pg2', epoch: EPOCH + 1 });

describe('decideAgent', () => {
  const cases: {
    name: string;
    s: AgentSnapshot;
    want: Partial<AgentDecision> & Pick<AgentDecision, 'kind' | 'reason'>;
  }[] = [
    {
      name: 'no topology yet: wait',
      s: snap({ topology: null }),
      want: { kind: 'wait', reason: 'no-topology' },
    },
    {
      name: 'node not in the topology: hands off',
      s: snap({ topology: aTopology({ nodes: aTopology().nodes.slice(1), primary: 'pg2' }) }),
      want: { kind: 'none', reason: 'not-in-topology' },
    },
    // --- running primary, topology names us
    {
      name: 'confirmed primary: nothing to do',
      s: snap({}),
      want: { kind: 'none', reason: 'primary-confirmed' },
    },
    {
      name: 'unconfirmed for less than leaseMs: keep writing',
      s: snap({ coordinationOk: false, unconfirmedMs: LEASE - 1 }),
      want: { kind: 'none', reason: 'lease-held' },
    },
    {
      name: 'confirmations lost for leaseMs: fence itself',
      s: snap({ coordinationOk: false, unconfirmedMs: LEASE }),
      want: { kind: 'fence', reason: 'lease-expired', epoch: EPOCH },
    },
    {
      name: 'lease lost and already fenced: wait for confirmation',
      s: snap({
        coordinationOk: false,
        unconfirmedMs: LEASE * 3,
        local: { ...primaryUp, fenced: true },
      }),
      want: { kind: 'wait', reason: 'fenced-lease-lost' },
    },
    {
      name: 'confirmation back while fenced: unfence',
      s: snap({ local: { ...primaryUp, fenced: true } }),
      want: { kind: 'unfence', reason: 'lease-confirmed', epoch: EPOCH },
    },
    {
      name: 'fenced during a switchover: do not unfence',
      s: snap({
        local: { ...primaryUp, fenced: true },
        topology: aTopology({ state: 'switching-over' }),
      }),
      want: { kind: 'none', reason: 'switching-over' },
    },
    {
      name: 'lease expiry still fences during a switchover',
      s: snap({
        coordinationOk: false,
        unconfirmedMs: LEASE,
        topology: aTopology({ state: 'switching-over' }),
      }),
      want: { kind: 'fence', reason: 'lease-expired' },
    },
    // --- running primary, topology names another node
    {
      name: 'returning old primary: fence + rejoin with rewind',
      s: snap({ topology: pg2Primary }),
      want: {
        kind: 'rejoin',
        reason: 'demoted',
        primary: 'pg2',
        fenceFirst: true,
        rewind: true,
        epoch: EPOCH + 1,
      },
    },
    {
      name: 'old primary already fenced (by the sentinel): rejoin without fencing again',
      s: snap({ topology: pg2Primary, local: { ...primaryUp, fenced: true } }),
      want: { kind: 'rejoin', reason: 'demoted', fenceFirst: false },
    },
    {
      name: 'demoted, stale topology: fence now, rejoin later',
      s: snap({ topology: pg2Primary, coordinationOk: false }),
      want: { kind: 'fence', reason: 'demoted' },
    },
    {
      name: 'demoted and fenced, stale topology: wait',
      s: snap({
        topology: pg2Primary,
        coordinationOk: false,
        local: { ...primaryUp, fenced: true },
      }),
      want: { kind: 'wait', reason: 'demoted-fenced' },
    },
    {
      name: 'demoted during a switchover: fence only, hands off',
      s: snap({ topology: { ...pg2Primary, state: 'switching-over' } }),
      want: { kind: 'fence', reason: 'demoted' },
    },
    {
      name: 'demoted while the failover is not settled: fence only',
      s: snap({ topology: { ...pg2Primary, state: 'failing-over' } }),
      want: { kind: 'fence', reason: 'demoted' },
    },
    {
      name: 'stopped old primary while the failover is not settled: wait',
      s: snap({ topology: { ...pg2Primary, state: 'failing-over' }, local: stopped(false) }),
      want: { kind: 'wait', reason: 'failover-in-progress' },
    },
    {
      name: 'degraded topology (failover finished with problems): rejoin',
      s: snap({ topology: { ...pg2Primary, state: 'degraded' }, local: stopped(false) }),
      want: { kind: 'rejoin', reason: 'stopped-old-primary' },
    },
    // --- switchover: hands off
    {
      name: 'switching-over, stopped primary: do not restart it',
      s: snap({ topology: aTopology({ state: 'switching-over' }), local: stopped(false) }),
      want: { kind: 'none', reason: 'switching-over' },
    },
    {
      name: 'switching-over, stopped standby: do not rejoin',
      s: snap({ topology: { ...pg2Primary, state: 'switching-over' }, local: stopped(true) }),
      want: { kind: 'none', reason: 'switching-over' },
    },
    // --- running, silent
    {
      name: 'running but SQL silent: wait',
      s: snap({ local: { ...primaryUp, reachable: false, role: null, error: 'timeout' } }),
      want: { kind: 'wait', reason: 'unreachable' },
    },
    // --- running standby
    {
      name: 'standby following the primary: nothing to do',
      s: snap({ topology: pg2Primary, local: standbyOf('10.0.0.2', 5432) }),
      want: { kind: 'none', reason: 'standby-ok' },
    },
    {
      name: 'standby following the old primary: repoint',
      s: snap({ topology: pg2Primary, local: standbyOf('10.0.0.3', 5432) }),
      want: { kind: 'repoint', reason: 'wrong-upstream', primary: 'pg2' },
    },
    {
      name: 'standby with the wrong slot name: repoint',
      s: snap({ topology: pg2Primary, local: standbyOf('10.0.0.2', 5432, 'pg2') }),
      want: { kind: 'repoint', reason: 'wrong-upstream' },
    },
    {
      name: 'standby, stale topology: do not repoint',
      s: snap({ topology: pg2Primary, coordinationOk: false, local: standbyOf('10.0.0.3', 5432) }),
      want: { kind: 'none', reason: 'standby-stale-topology' },
    },
    {
      name: 'standby named primary (promotion pending): the sentinel promotes',
      s: snap({ local: standbyOf('10.0.0.2', 5432) }),
      want: { kind: 'none', reason: 'awaiting-promotion' },
    },
    // --- stopped, another node is the primary
    {
      name: 'stopped old primary: rejoin with rewind',
      s: snap({ topology: pg2Primary, local: stopped(false) }),
      want: { kind: 'rejoin', reason: 'stopped-old-primary', rewind: true, fenceFirst: false },
    },
    {
      name: 'stopped standby: rejoin by restart',
      s: snap({ topology: pg2Primary, local: stopped(true) }),
      want: { kind: 'rejoin', reason: 'stopped-standby', rewind: false },
    },
    {
      name: 'stopped, stale topology: wait',
      s: snap({ topology: pg2Primary, coordinationOk: false, local: stopped(false) }),
      want: { kind: 'wait', reason: 'no-coordination' },
    },
    // --- stopped, we are the primary (crash)
    {
      name: 'crashed primary, verdict paused: restart as primary',
      s: snap({ local: stopped(false), verdict: verdict({ reason: 'paused' }) }),
      want: { kind: 'start', reason: 'no-failover-verdict', as: 'primary', epoch: EPOCH },
    },
    {
      name: 'crashed primary, verdict no-candidate: restart as primary',
      s: snap({
        local: stopped(false),
        verdict: verdict({ reason: 'no-candidate', kind: 'vote-down' }),
      }),
      want: { kind: 'start', reason: 'no-failover-verdict', as: 'primary' },
    },
    {
      name: 'crashed primary, no quorum for 2*downAfter: restart',
      s: snap({
        local: stopped(false),
        verdict: verdict({ reason: 'no-quorum', sinceWall: NOW_WALL - 2 * DOWN_AFTER }),
      }),
      want: { kind: 'start', reason: 'no-failover-verdict' },
    },
    {
      name: 'crashed primary, no quorum for less than 2*downAfter: wait',
      s: snap({
        local: stopped(false),
        verdict: verdict({ reason: 'no-quorum', sinceWall: NOW_WALL - 2 * DOWN_AFTER + 1 }),
      }),
      want: { kind: 'wait', reason: 'no-quorum-too-short' },
    },
    {
      name: 'crashed primary, stale verdict: wait',
      s: snap({ local: stopped(false), verdict: verdict({ atWall: NOW_WALL - 3001 }) }),
      want: { kind: 'wait', reason: 'verdict-stale' },
    },
    {
      name: 'crashed primary, no verdict: wait',
      s: snap({ local: stopped(false) }),
      want: { kind: 'wait', reason: 'verdict-missing' },
    },
    {
      name: 'crashed primary, verdict of an older epoch: wait',
      s: snap({ local: stopped(false), verdict: verdict({ epoch: EPOCH - 1 }) }),
      want: { kind: 'wait', reason: 'verdict-other-epoch' },
    },
    {
      name: 'crashed primary, verdict about another primary: wait',
      s: snap({ local: stopped(false), verdict: verdict({ primary: 'pg2' }) }),
      want: { kind: 'wait', reason: 'verdict-other-epoch' },
    },
    {
      name: 'crashed primary, leader failing over: wait',
      s: snap({
        local: stopped(false),
        verdict: verdict({ kind: 'failover', reason: 'primary-odown' }),
      }),
      want: { kind: 'wait', reason: 'failover-possible' },
    },
    {
      name: 'crashed primary, cooldown: wait (a failover comes once it ends)',
      s: snap({
        local: stopped(false),
        verdict: verdict({ kind: 'vote-down', reason: 'cooldown' }),
      }),
      want: { kind: 'wait', reason: 'failover-possible' },
    },
    {
      name: 'crashed primary, no coordination: wait',
      s: snap({ local: stopped(false), coordinationOk: false, verdict: verdict() }),
      want: { kind: 'wait', reason: 'no-coordination' },
    },
    {
      name: 'stopped with standby.signal while named primary: start as standby',
      s: snap({ local: stopped(true) }),
      want: { kind: 'start', reason: 'standby-as-is', as: 'standby' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(decideAgent(c.s)).toMatchObject(c.want);
    });
  }

  it('a failover committed while waiting moves the crashed primary to rejoin', () => {
    const s = snap({
      local: stopped(false),
      verdict: verdict({ kind: 'failover', reason: 'primary-odown' }),
    });
    expect(decideAgent(s).kind).toBe('wait');
    expect(decideAgent({ ...s, topology: pg2Primary })).toMatchObject({
      kind: 'rejoin',
      primary: 'pg2',
    });
  });
});

describe('needsVerdict', () => {
  it('only for a stopped primary (no standby.signal) named primary by a fresh topology', () => {
    expect(needsVerdict(snap({ local: stopped(false) }))).toBe(true);
    expect(needsVerdict(snap({ local: stopped(true) }))).toBe(false);
    expect(needsVerdict(snap({}))).toBe(false);
    expect(needsVerdict(snap({ local: stopped(false), topology: pg2Primary }))).toBe(false);
    expect(needsVerdict(snap({ local: stopped(false), coordinationOk: false }))).toBe(false);
    expect(
      needsVerdict(
        snap({ local: stopped(false), topology: aTopology({ state: 'switching-over' }) }),
      ),
    ).toBe(false);
  });
});
