/**
 * The agent loop on fakes, under fake timers: the agent of pg1 over FakePostgres (pg1 primary,
 * pg2 and pg3 streaming from it), its FakeNodeProcess and FakeLocalObserver on the same node,
 * and FakeCoordinationStore. `tick()` starts an action without awaiting it; `idle()` lets it
 * finish.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import { UserError } from '../../../../src/core/errors.js';
import type { StampedEvent } from '../../../../src/core/events.js';
import type { Topology } from '../../../../src/core/model.js';
import { Agent } from '../../../../src/runtime/agent/agent.js';
import { EventBus } from '../../../../src/runtime/events.js';
import { aClusterConfig, aTiming, aTopology } from '../../../builders/index.js';
import { fakeClock } from '../../../fakes/clock.js';
import { FakeCoordinationStore, FakeRedisBackend } from '../../../fakes/coordination.js';
import { FakeLocalObserver, FakeNodeProcess } from '../../../fakes/node-process.js';
import { FakePostgres } from '../../../fakes/postgres.js';

const cluster = aClusterConfig();
const timing = aTiming(); // leaseMs 5 s, agentIntervalMs 500 ms

async function agentOf(node: string, ...topologies: Partial<Topology>[]) {
  const time = fakeClock();
  const backend = new FakeRedisBackend({ servers: 3, now: time.clock.wall });
  const store = new FakeCoordinationStore({ backend });
  let epoch = 0;
  for (const patch of topologies) {
    await store.casTopology('c1', epoch, aTopology({ epoch: epoch + 1, ...patch }), 's1');
    epoch++;
  }
  const pg = FakePostgres.cluster(cluster.nodes);
  const process = new FakeNodeProcess(pg, node);
  const observer = new FakeLocalObserver(pg, node, process);
  const log = createLogger({ level: 'silent', process: `agent-${node}`, role: 'agent' });
  const bus = new EventBus(store, log);
  const events: StampedEvent[] = [];
  bus.onEvent((e) => events.push(e));
  const agent = new Agent({
    cluster,
    node,
    timing,
    keepOldDataDirs: true,
    store,
    pg,
    bus,
    log,
    clock: time.clock,
    process,
    observer,
    observeTimeoutMs: 1000,
  });
  /** let the action in flight finish */
  const idle = async (): Promise<void> => {
    for (let i = 0; i < 100 && agent.status().action !== null; i++) await time.advance(10);
    expect(agent.status().action).toBeNull();
  };
  const isolate = (): void => {
    backend.down(0);
    backend.down(1);
  };
  const reconnect = (): void => {
    backend.up(0);
    backend.up(1);
  };
  return { time, store, pg, process, observer, events, agent, idle, isolate, reconnect };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Agent.tick', () => {
  it('the topology primary, writable, confirmed by a majority: nothing to do', async () => {
    const a = await agentOf('pg1', {});
    expect(await a.agent.tick()).toMatchObject({ kind: 'none', reason: 'primary-confirmed' });
    await a.idle();
    expect(a.pg.calls).toEqual([]);
    expect(a.process.calls).toEqual([]);
    expect(a.agent.primary()).toMatchObject({ ok: true });
  });

  it('an isolated primary is stopped at once when its lease runs out, whatever the loop does', async () => {
    const a = await agentOf('pg1', {});
    await a.time.advance(3000); // the lease counts from the last confirmation, not from the start
    await a.agent.tick(); // confirmed now
    a.isolate();
    await a.time.advance(1000);
    expect(await a.agent.tick()).toMatchObject({ kind: 'none', reason: 'lease-held' });
    await a.time.advance(timing.leaseMs - 1000 - 1);
    expect(a.process.calls).toEqual([]);
    expect(a.process.state().running).toBe(true);

    // no tick: the watchdog fires by itself leaseMs after the confirming read was sent
    await a.time.advance(1);
    await a.time.advance(10);
    expect(a.process.calls).toEqual(['stop immediate']);
    expect(a.process.state().running).toBe(false);
    expect(a.events.map((e) => e.type)).toEqual(['node-fenced']);
    expect(a.pg.calls).toEqual([]);

    // back in touch: a stopped primary restarts only on a leader verdict, never by itself
    a.reconnect();
    expect(await a.agent.tick()).toMatchObject({ kind: 'wait' });
    expect(a.process.calls).toEqual(['stop immediate']);
  });

  it('a confirmed primary is never stopped by the watchdog', async () => {
    const a = await agentOf('pg1', {});
    for (let i = 0; i < 4; i++) {
      await a.agent.tick();
      await a.time.advance(timing.leaseMs - 100);
    }
    expect(a.process.calls).toEqual([]);
  });

  it('a confirmed primary whose local postgres hangs keeps its lease: the agent does not fence it', async () => {
    // each local observation takes 2 leases: the ticks wait that long, the renewal does not
    const a = await agentOf('pg1', {});
    a.agent.start();
    await a.time.advance(timing.agentIntervalMs);
    a.observer.hangMs = 2 * timing.leaseMs;
    // renewed all along by the agent's guard timer, not only by the watchdog's one read at
    // expiry: the health check never says "lease expired"
    let oldest = 0;
    for (let t = 0; t < 3 * timing.leaseMs; t += 100) {
      await a.time.advance(100);
      oldest = Math.max(oldest, a.agent.status().lastConfirmAgoMs);
    }
    expect(oldest).toBeLessThan(3 * timing.agentIntervalMs); // lease 10 intervals
    expect(a.process.calls).toEqual([]);
    expect(a.events).toEqual([]);
    // the same hang without a Redis majority: the lease runs out and the watchdog stops it
    a.isolate();
    await a.time.advance(timing.leaseMs + timing.agentIntervalMs);
    expect(a.process.calls).toEqual(['stop immediate']);
    const stopped = a.agent.stop(0);
    await a.time.advance(2 * timing.leaseMs);
    await stopped;
  });

  it('a primary whose postmaster lives but does not answer (SIGSTOP) keeps its lease: isolated, it is fenced', async () => {
    // the local observation returns at once, unreachable (a frozen postmaster's connect
    // timeout), so the loop cannot tell its role; no standby.signal: it may still be a primary
    const a = await agentOf('pg1', {});
    a.agent.start();
    await a.time.advance(timing.agentIntervalMs);
    a.pg.hang('pg1');
    await a.time.advance(2 * timing.leaseMs); // a Redis majority names it: renewed, no fence
    expect(a.process.calls).toEqual([]);
    a.isolate();
    await a.time.advance(timing.leaseMs + timing.agentIntervalMs);
    // it would wake and acknowledge writes after the sentinels promoted another node
    expect(a.process.calls).toEqual(['stop immediate']);
    expect(a.events.map((e) => e.type)).toContain('node-fenced');
    const stopped = a.agent.stop(0);
    await a.time.advance(2 * timing.leaseMs);
    await stopped;
  });

  it('a frozen primary (SIGSTOP) is not renewed: its lease runs out while Redis still names it', async () => {
    // the sentinels count it down from the moment it froze; its lease must run out from then
    // too, so that it is gone before they can promote another node, not woken into a cluster
    // with a new primary
    const a = await agentOf('pg1', {});
    a.agent.start();
    await a.time.advance(timing.agentIntervalMs);
    a.pg.hang('pg1');
    a.process.frozen = true;
    await a.time.advance(timing.leaseMs - timing.agentIntervalMs - 10);
    expect(a.process.calls).toEqual([]); // within the lease of the last confirmation
    await a.time.advance(timing.agentIntervalMs + 20);
    expect(a.process.calls).toEqual(['stop immediate']);
    expect(a.events.map((e) => e.type)).toContain('node-fenced');
    const stopped = a.agent.stop(0);
    await a.time.advance(2 * timing.leaseMs);
    await stopped;
  });

  it('an unanswering node with standby.signal is a standby: no lease, never fenced by one', async () => {
    const a = await agentOf('pg2', {});
    a.agent.start();
    await a.time.advance(timing.agentIntervalMs);
    a.pg.hang('pg2');
    a.isolate();
    await a.time.advance(3 * timing.leaseMs);
    expect(a.process.calls).not.toContain('stop immediate');
    const stopped = a.agent.stop(0);
    await a.time.advance(2 * timing.leaseMs);
    await stopped;
  });

  it('an agent paused past its lease (SIGSTOP) reads once on waking, and does not fence a primary Redis still names', async () => {
    const a = await agentOf('pg1', {});
    a.agent.start();
    await a.time.advance(timing.agentIntervalMs);
    // paused: the clock moved and no timer ran; on waking every overdue timer runs (libuv order)
    // before any read started by one of them can answer
    a.time.jump(3 * timing.leaseMs);
    vi.advanceTimersByTime(timing.leaseMs);
    await a.time.advance(timing.agentIntervalMs);
    expect(a.process.calls).toEqual([]);
    expect(a.events).toEqual([]);
    await a.time.advance(2 * timing.leaseMs); // and the lease goes on being renewed
    expect(a.process.calls).toEqual([]);
    const stopped = a.agent.stop(0);
    await a.time.advance(timing.leaseMs);
    await stopped;
  });

  it('an agent paused past its lease that wakes without a Redis majority fences its primary', async () => {
    const a = await agentOf('pg1', {});
    a.agent.start();
    await a.time.advance(timing.agentIntervalMs);
    a.isolate();
    a.time.jump(3 * timing.leaseMs);
    vi.advanceTimersByTime(timing.leaseMs);
    await a.time.advance(timing.agentIntervalMs + timing.redisTimeoutMs);
    expect(a.process.calls).toEqual(['stop immediate']);
    // the loop's own lease-expired fence may report it too
    expect(new Set(a.events.map((e) => e.type))).toEqual(new Set(['node-fenced']));
    const stopped = a.agent.stop(0);
    await a.time.advance(timing.leaseMs);
    await stopped;
  });

  it('a demoted primary still running is fenced, rewound and rejoined as a standby of the new one', async () => {
    const a = await agentOf('pg1', {}, { primary: 'pg2', previousPrimary: 'pg1' });
    a.pg.set('pg2', { role: 'primary' });
    expect(await a.agent.tick()).toMatchObject({
      kind: 'rejoin',
      reason: 'demoted',
      primary: 'pg2',
      fenceFirst: true,
      rewind: true,
    });
    await a.idle();
    expect(a.pg.calls).toEqual(['fence pg1', 'slot pg2 pg1']);
    expect(a.process.calls).toEqual([
      'stop fast',
      'clear-orphans',
      'rewind pg2',
      'configure-standby pg2',
      'start',
    ]);
    expect(a.events.map((e) => e.type)).toEqual(['node-fenced', 'node-rejoined']);
    expect(a.events[1]).toMatchObject({ node: 'pg1', epoch: 2, method: 'rewind' });
    expect(a.pg.node('pg1')).toMatchObject({ role: 'standby', upstream: 'pg2', fenced: false });
    expect(await a.agent.tick()).toMatchObject({ kind: 'none', reason: 'standby-ok' });
    expect(a.agent.replica(undefined)).toMatchObject({ ok: true, role: 'standby' });
  });

  it('/stop refuses another epoch or a topology not switching over; stops cleanly otherwise', async () => {
    const a = await agentOf('pg1', {}, {}, { state: 'switching-over' });
    await a.agent.tick();
    await expect(a.agent.stopForSwitchover(2)).rejects.toThrow(UserError);
    await expect(a.agent.stopForSwitchover(2)).rejects.toThrow(/refusing \/stop for epoch 2/);
    expect(a.process.calls).toEqual([]);
    expect(a.pg.node('pg1').reach).toBe('up');
    expect(await a.agent.stopForSwitchover(3)).toMatchObject({ checkpointLsn: 5_000_000 });
    expect(a.process.calls).toEqual(['stop fast']);

    const b = await agentOf('pg1', {}, {}, {}); // epoch 3, state ok
    await expect(b.agent.stopForSwitchover(3)).rejects.toThrow(/state ok/);
    const c = await agentOf('pg2', {}, {}, { state: 'switching-over' }); // pg1 is the primary
    await expect(c.agent.stopForSwitchover(3)).rejects.toThrow(/primary pg1/);
    expect([...b.process.calls, ...c.process.calls]).toEqual([]);
  });
});

describe('Agent.start/stop', () => {
  it('loops every agentIntervalMs, every 50 ms while an isolated primary, not after stop()', async () => {
    const a = await agentOf('pg1', {});
    a.agent.start();
    await a.time.advance(0);
    expect(a.observer.observed).toBe(1);
    await a.time.advance(timing.agentIntervalMs - 1);
    expect(a.observer.observed).toBe(1);
    await a.time.advance(1);
    expect(a.observer.observed).toBe(2);

    a.isolate();
    await a.time.advance(timing.agentIntervalMs); // this tick finds no majority: 50 ms from now on
    expect(a.observer.observed).toBe(3);
    await a.time.advance(50);
    expect(a.observer.observed).toBe(4);
    await a.time.advance(200);
    expect(a.observer.observed).toBe(8);

    a.reconnect();
    await a.time.advance(50); // confirmed again: back to agentIntervalMs
    expect(a.observer.observed).toBe(9);
    await a.time.advance(timing.agentIntervalMs - 1);
    expect(a.observer.observed).toBe(9);
    await a.time.advance(1);
    expect(a.observer.observed).toBe(10);

    await a.agent.stop(1000);
    expect(a.observer.calls).toContain('close');
    await a.time.advance(10 * timing.agentIntervalMs);
    expect(a.observer.observed).toBe(10);
  });
});
