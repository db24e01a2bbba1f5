import { describe, expect, it } from 'vitest';

import {
  judge,
  newNodeHealth,
  type NodeHealth,
  recordProbe,
  sdown,
  type SdownReason,
  transitionEvent,
} from '../../../src/core/health.js';
import type { ProbeResult } from '../../../src/core/model.js';
import { aProbe, aTiming } from '../../builders/index.js';

// downAfter 3000 ms, refusedAfter 1000 ms
const timing = aTiming();
const T = 100_000;

const ok = (at: number): ProbeResult => aProbe('pg1').primary().at(at).build();
const refused = (at: number): ProbeResult => aProbe('pg1').refused().at(at).took(1).build();
const timeout = (at: number): ProbeResult => aProbe('pg1').timedOut().at(at).took(1).build();
const writeFailed = (at: number): ProbeResult => aProbe('pg1').writeFailed().at(at).build();
const auth = (at: number): ProbeResult => aProbe('pg1').failed('auth').at(at).build();

function track(probes: readonly ProbeResult[]): NodeHealth {
  return probes.reduce(recordProbe, newNodeHealth('pg1'));
}

describe('sdown', () => {
  const cases: {
    name: string;
    probes: ProbeResult[];
    now: number;
    down: boolean;
    reason: SdownReason;
  }[] = [
    {
      name: 'never probed: no evidence, not down',
      probes: [],
      now: T,
      down: false,
      reason: 'never-probed',
    },
    { name: 'recent success', probes: [ok(T - 200)], now: T, down: false, reason: 'ok' },
    {
      name: 'timeouts for just under downAfter',
      probes: [ok(T - 2999), timeout(T - 2500), timeout(T - 100)],
      now: T,
      down: false,
      reason: 'probe-failing',
    },
    {
      name: 'timeouts for downAfter',
      probes: [ok(T - 3000), timeout(T - 2500), timeout(T - 100)],
      now: T,
      down: true,
      reason: 'no-success-for-downAfter',
    },
    {
      name: 'refused for refusedAfter (postmaster gone)',
      probes: [ok(T - 1000), refused(T - 500), refused(T - 10)],
      now: T,
      down: true,
      reason: 'refused-for-refusedAfter',
    },
    {
      name: 'refused for just under refusedAfter',
      probes: [ok(T - 999), refused(T - 500)],
      now: T,
      down: false,
      reason: 'probe-failing',
    },
    {
      name: 'refused then a timeout: only downAfter applies',
      probes: [ok(T - 2000), refused(T - 1500), timeout(T - 100)],
      now: T,
      down: false,
      reason: 'probe-failing',
    },
    {
      name: 'a timeout then refused: only downAfter applies',
      probes: [ok(T - 2000), timeout(T - 1500), refused(T - 100)],
      now: T,
      down: false,
      reason: 'probe-failing',
    },
    {
      name: 'mixed failures for downAfter',
      probes: [ok(T - 3500), timeout(T - 1500), refused(T - 100)],
      now: T,
      down: true,
      reason: 'no-success-for-downAfter',
    },
    {
      name: 'refused long enough for both: the surer reason',
      probes: [ok(T - 4000), refused(T - 3000), refused(T - 100)],
      now: T,
      down: true,
      reason: 'refused-for-refusedAfter',
    },
    {
      name: 'old non-refused failure before the last success does not count',
      probes: [timeout(T - 5000), ok(T - 1500), refused(T - 100)],
      now: T,
      down: true,
      reason: 'refused-for-refusedAfter',
    },
    {
      name: 'heartbeat cannot commit: a failed probe',
      probes: [ok(T - 3000), writeFailed(T - 2000), writeFailed(T - 100)],
      now: T,
      down: true,
      reason: 'no-success-for-downAfter',
    },
    {
      name: 'heartbeat cannot commit is not refused',
      probes: [ok(T - 1500), writeFailed(T - 1000), writeFailed(T - 100)],
      now: T,
      down: false,
      reason: 'probe-failing',
    },
    {
      name: 'auth failures are no evidence of health',
      probes: [ok(T - 3000), auth(T - 100)],
      now: T,
      down: true,
      reason: 'no-success-for-downAfter',
    },
    {
      name: 'recovered: success after failures',
      probes: [ok(T - 5000), timeout(T - 3000), ok(T - 100)],
      now: T,
      down: false,
      reason: 'ok',
    },
    {
      name: 'prober stalled: last success long ago, nothing since',
      probes: [ok(T - 3000)],
      now: T,
      down: true,
      reason: 'no-success-for-downAfter',
    },
    // never reached: silence counts from the START of the first attempt (atMono - durationMs)
    {
      name: 'never answered, timeouts since 3 s',
      probes: [
        aProbe('pg1')
          .timedOut()
          .at(T - 2000)
          .took(1000)
          .build(),
        timeout(T - 100),
      ],
      now: T,
      down: true,
      reason: 'no-success-for-downAfter',
    },
    {
      name: 'never answered, timeouts since 2.9 s',
      probes: [
        aProbe('pg1')
          .timedOut()
          .at(T - 1900)
          .took(1000)
          .build(),
      ],
      now: T,
      down: false,
      reason: 'probe-failing',
    },
    {
      name: 'never answered, refused since 1 s',
      probes: [refused(T - 1000), refused(T - 500)],
      now: T,
      down: true,
      reason: 'refused-for-refusedAfter',
    },
    {
      name: 'never answered, refused since 0.5 s',
      probes: [refused(T - 500)],
      now: T,
      down: false,
      reason: 'probe-failing',
    },
  ];

  it.each(cases)('$name -> $reason', ({ probes, now, down, reason }) => {
    const v = sdown(track(probes), now, timing);
    expect({ down: v.down, reason: v.reason }).toEqual({ down, reason });
    expect(v.evidence).not.toBe('');
  });

  it('gives the same verdict whatever order the probes arrive in', () => {
    const probes = [
      ok(T - 4000),
      timeout(T - 3500),
      ok(T - 1500),
      refused(T - 1200),
      refused(T - 100),
    ];
    const expected = sdown(track(probes), T, timing);
    for (const order of [
      [4, 3, 2, 1, 0],
      [2, 0, 4, 1, 3],
      [1, 4, 0, 3, 2],
    ]) {
      expect(sdown(track(order.map((i) => probes[i]!)), T, timing)).toEqual(expected);
    }
    expect(expected.reason).toBe('refused-for-refusedAfter');
  });

  it('says since when the node is silent', () => {
    expect(sdown(track([ok(T - 3200), timeout(T - 100)]), T, timing).sinceMono).toBe(T - 3200);
    expect(sdown(track([ok(T - 100)]), T, timing).sinceMono).toBeUndefined();
  });

  it('explains itself in human terms', () => {
    const v = sdown(track([ok(T - 3200), timeout(T - 100)]), T, timing);
    expect(v.evidence).toBe(
      'no successful probe for 3.2 s (downAfter 3.0 s); last failure timeout: connect timeout',
    );
  });

  it('keeps the last successful probe (its LSNs are the last known ones)', () => {
    const h = track([ok(T - 3200), timeout(T - 100)]);
    expect(h.lastOk?.atMono).toBe(T - 3200);
    expect(h.last?.atMono).toBe(T - 100);
  });

  it('refuses a probe of another node', () => {
    expect(() => recordProbe(newNodeHealth('pg1'), aProbe('pg2').build())).toThrow(/pg2/);
  });
});

describe('judge: node-down / node-up once per change', () => {
  it('reports each flip once, and a node first found up not at all', () => {
    const steps: { probe?: ProbeResult; now: number; changed: 'down' | 'up' | null }[] = [
      { now: T, changed: null }, // never probed
      { probe: ok(T), now: T + 100, changed: null }, // first verdict up: no event
      { probe: timeout(T + 1000), now: T + 1500, changed: null }, // failing, not down yet
      { probe: timeout(T + 3000), now: T + 3000, changed: 'down' },
      { probe: timeout(T + 3500), now: T + 3600, changed: null }, // still down: no repeat
      { probe: ok(T + 4000), now: T + 4000, changed: 'up' },
      { probe: ok(T + 4500), now: T + 4600, changed: null },
    ];
    let h = newNodeHealth('pg1');
    for (const step of steps) {
      if (step.probe) h = recordProbe(h, step.probe);
      const j = judge(h, step.now, timing);
      expect(j.changed, `at ${step.now - T}`).toBe(step.changed);
      h = j.health;
    }
  });

  it('reports a node first seen down', () => {
    expect(judge(track([refused(T - 1500), refused(T - 100)]), T, timing).changed).toBe('down');
  });

  it('builds the events', () => {
    const down = judge(track([refused(T - 1500), refused(T - 100)]), T, timing);
    expect(transitionEvent('c1', 7, 's1', down)).toMatchObject({
      type: 'node-down',
      cluster: 'c1',
      epoch: 7,
      node: 'pg1',
      sentinel: 's1',
    });
    const up = judge(recordProbe(down.health, ok(T + 100)), T + 200, timing);
    expect(transitionEvent('c1', 7, 's1', up)).toEqual({
      type: 'node-up',
      cluster: 'c1',
      epoch: 7,
      node: 'pg1',
      sentinel: 's1',
    });
    expect(transitionEvent('c1', 7, 's1', judge(up.health, T + 300, timing))).toBeNull();
  });
});
