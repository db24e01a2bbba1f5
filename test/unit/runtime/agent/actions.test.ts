/**
 * The I/O behind each agent decision (actions.ts), on fakes: the destructive ones (repoint,
 * rejoin, start as primary) re-read the topology just before they run and give up, touching
 * nothing, when the epoch or the primary they were decided under moved on (a lock is not a
 * fence). Decided for pg1 under epoch 2 (pg2 primary).
 */
import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import type { AgentDecision } from '../../../../src/core/agent/model.js';
import { CoordinationUnavailable, UserError } from '../../../../src/core/errors.js';
import type { StampedEvent } from '../../../../src/core/events.js';
import type { Topology } from '../../../../src/core/model.js';
import { actionFor } from '../../../../src/runtime/agent/actions.js';
import { EventBus } from '../../../../src/runtime/events.js';
import { aClusterConfig, aTopology, NOW_MONO, NOW_WALL } from '../../../builders/index.js';
import { FakeCoordinationStore } from '../../../fakes/coordination.js';
import { FakeLocalObserver, FakeNodeProcess } from '../../../fakes/node-process.js';
import { FakePostgres } from '../../../fakes/postgres.js';

const cluster = aClusterConfig();
const self = cluster.nodes[0]!; // pg1

/** The store holds epochs 1..`epoch`; from epoch 2 on, `primary` is the primary. */
async function setup(
  epoch: number,
  primary = 'pg2',
  o: { running?: boolean; reachable?: boolean } = {},
) {
  const store = new FakeCoordinationStore();
  for (let e = 1; e <= epoch; e++) {
    const t: Topology = aTopology({ epoch: e, primary: e === 1 ? 'pg1' : primary });
    await store.casTopology('c1', e - 1, t, 's1');
  }
  const pg = FakePostgres.cluster(cluster.nodes, { primary });
  const process = new FakeNodeProcess(pg, 'pg1');
  if (o.running === false) process.crash();
  const log = createLogger({ level: 'silent', process: 'agent-pg1', role: 'agent' });
  const bus = new EventBus(store, log);
  const events: StampedEvent[] = [];
  bus.onEvent((e) => events.push(e));
  const work = (d: AgentDecision) =>
    actionFor(d, {
      cluster,
      node: 'pg1',
      keepOldDataDirs: true,
      store,
      pg,
      bus,
      clock: { mono: () => NOW_MONO, wall: () => NOW_WALL },
      process,
      observer: new FakeLocalObserver(pg, 'pg1', process),
      self,
      running: o.running ?? true,
      reachable: o.reachable ?? o.running ?? true,
      log,
    });
  return { store, pg, process, events, work };
}

const repoint: AgentDecision = {
  kind: 'repoint',
  reason: 'wrong-upstream',
  epoch: 2,
  primary: 'pg2',
  evidence: 'follows pg3',
};
const rejoin: AgentDecision = {
  kind: 'rejoin',
  reason: 'demoted',
  epoch: 2,
  primary: 'pg2',
  fenceFirst: true,
  rewind: true,
  evidence: 'runs as primary but pg2 is the primary of epoch 2',
};
const startAs = (as: 'primary' | 'standby'): AgentDecision => ({
  kind: 'start',
  reason: as === 'primary' ? 'no-failover-verdict' : 'standby-as-is',
  epoch: 2,
  as,
  evidence: 'crashed',
});

describe('actionFor', () => {
  it('none and wait: no work', async () => {
    const s = await setup(2);
    expect(s.work({ kind: 'none', reason: 'standby-ok', evidence: '' })).toBeNull();
    expect(s.work({ kind: 'wait', reason: 'no-topology', evidence: '' })).toBeNull();
  });

  it('repoint under the current epoch: a slot on the primary, then primary_conninfo', async () => {
    const s = await setup(2);
    s.pg.set('pg1', { role: 'standby', upstream: 'pg3' });
    await s.work(repoint)!();
    expect(s.pg.calls).toEqual(['slot pg2 pg1', 'repoint pg1 -> pg2']);
    expect(s.pg.node('pg1')).toMatchObject({ upstream: 'pg2', slot: 'pg1' });
  });

  it('rejoin under the current epoch: fence, then the rejoin, then node-rejoined', async () => {
    const s = await setup(2);
    s.pg.set('pg1', { role: 'primary', upstream: null }); // the old primary, still running
    await s.work(rejoin)!();
    expect(s.pg.calls).toEqual(['fence pg1', 'slot pg2 pg1']);
    expect(s.process.calls).toContain('rewind pg2');
    expect(s.events.map((e) => e.type)).toEqual(['node-fenced', 'node-rejoined']);
  });

  it('rejoin of a demoted primary that does not answer: no SQL fence to wait for, stopped at once', async () => {
    const s = await setup(2, 'pg2', { reachable: false });
    s.pg.set('pg1', { role: 'primary', upstream: null });
    s.pg.hang('pg1'); // frozen: a SQL fence would wait out its timeouts
    s.process.frozen = true;
    const work = s.work(rejoin)!();
    s.pg.up('pg1'); // what the rejoin finds once the instance is gone and restarted
    await work;
    expect(s.pg.calls).not.toContain('fence pg1');
    expect(s.process.calls[0]).toBe('stop immediate');
    expect(s.events.map((e) => e.type)).toEqual(['node-rejoined']);
  });

  const moved: [string, number, string][] = [
    ['the epoch moved on', 3, 'pg2'],
    ['another primary at the same epoch', 2, 'pg3'],
  ];
  for (const [why, epoch, primary] of moved) {
    it(`repoint, rejoin and start-as-primary give up when ${why}, touching nothing`, async () => {
      for (const d of [repoint, rejoin, startAs('primary')]) {
        const s = await setup(epoch, primary, { running: d.kind !== 'start' });
        await expect(s.work(d)!()).rejects.toThrow(UserError);
        await expect(s.work(d)!()).rejects.toThrow(/topology moved on .*not acting on epoch 2/);
        expect(s.pg.attempts).toEqual([]);
        expect(s.process.calls).toEqual([]);
        expect(s.events).toEqual([]);
      }
    });
  }

  it('give up too when the topology cannot be read from a majority', async () => {
    const s = await setup(2);
    s.store.down(0);
    s.store.down(1);
    await expect(s.work(rejoin)!()).rejects.toThrow(CoordinationUnavailable);
    expect(s.pg.attempts).toEqual([]);
    expect(s.process.calls).toEqual([]);
  });

  it('start as primary under the current epoch starts it; as a standby it needs no recheck', async () => {
    const s = await setup(2, 'pg1', { running: false });
    await s.work(startAs('primary'))!();
    expect(s.process.calls).toEqual(['start']);
    const t = await setup(3, 'pg2', { running: false });
    t.process.standbySignal = true;
    await t.work(startAs('standby'))!(); // in recovery it cannot take writes: safe at any epoch
    expect(t.process.calls).toEqual(['start']);
    expect(t.pg.node('pg1').role).toBe('standby');
  });
});
