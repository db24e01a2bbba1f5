/**
 * SlotKeeper on a fake slot port under fake time: it keeps max_slot_wal_keep_size on the
 * primary, drops the inactive slot of a node unreachable longer than dropSlotAfterMs (with a
 * slot-dropped event), keeps one whose node answers, and reports the slots for `status`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createLogger } from '../../../../src/adapters/logging/logger.js';
import type { StampedEvent } from '../../../../src/core/events.js';
import type { NodeObservation } from '../../../../src/core/health.js';
import type { NodeSpec, SlotView } from '../../../../src/core/model.js';
import type { SlotControl } from '../../../../src/ports/slots.js';
import { EventBus } from '../../../../src/runtime/events.js';
import { SLOT_CHECK_EVERY_MS, SlotKeeper } from '../../../../src/runtime/sentinel/slots.js';
import { aClusterConfig, aTiming, aTopology } from '../../../builders/index.js';
import { fakeClock } from '../../../fakes/clock.js';
import { FakeCoordinationStore, FakeRedisBackend } from '../../../fakes/coordination.js';

class FakeSlots implements SlotControl {
  slots: SlotView[] = [
    { name: 'pg2', active: true, retainedBytes: 1000, walStatus: 'reserved' },
    { name: 'pg3', active: false, retainedBytes: 9_000_000, walStatus: 'extended' },
  ];
  keep: string | null = null;
  calls: string[] = [];
  async listSlots(node: NodeSpec) {
    this.calls.push(`list ${node.name}`);
    return this.slots.map((s) => ({ ...s }));
  }
  async dropSlot(node: NodeSpec, slot: string) {
    this.calls.push(`drop ${node.name} ${slot}`);
    const had = this.slots.some((s) => s.name === slot && !s.active);
    this.slots = this.slots.filter((s) => s.name !== slot || s.active);
    return had;
  }
  async setSlotWalKeepSize(node: NodeSpec, size: string) {
    this.calls.push(`keep ${node.name} ${size}`);
    const changed = this.keep !== size;
    this.keep = size;
    return changed;
  }
}

const seen = (ok: boolean) => ({ last: { ok } }) as NodeObservation;
const topology = aTopology({ epoch: 3 });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function setup() {
  const time = fakeClock();
  const cluster = aClusterConfig({
    replication: {
      mode: 'async',
      user: 'r',
      password: 'x',
      maxSlotWalKeepSize: '512MB',
      dropSlotAfterMs: 60_000,
    },
  });
  const store = new FakeCoordinationStore({ backend: new FakeRedisBackend({ servers: 1 }) });
  const log = createLogger({ level: 'silent', process: 's1', role: 'sentinel' });
  const bus = new EventBus(store, log);
  const events: StampedEvent[] = [];
  bus.onEvent((e) => events.push(e));
  const slots = new FakeSlots();
  const keeper = new SlotKeeper({
    cluster,
    timing: aTiming(),
    sentinelId: 's1',
    clock: time.clock,
    log,
    slots,
    bus,
  });
  return { time, slots, keeper, events };
}

describe('SlotKeeper', () => {
  it('sets max_slot_wal_keep_size once and reports the slots', async () => {
    const s = setup();
    await s.keeper.tick(topology, { pg1: seen(true), pg2: seen(true), pg3: seen(true) });
    expect(s.slots.keep).toBe('512MB');
    expect(s.keeper.slots.map((x) => x.name)).toEqual(['pg2', 'pg3']);
    await s.time.advance(SLOT_CHECK_EVERY_MS);
    await s.keeper.tick(topology, { pg1: seen(true), pg2: seen(true), pg3: seen(true) });
    expect(s.slots.calls.filter((c) => c.startsWith('keep'))).toHaveLength(1);
  });

  it('drops the slot of a node gone longer than dropSlotAfterMs, with an event', async () => {
    const s = setup();
    const obs = { pg1: seen(true), pg2: seen(true), pg3: seen(false) };
    await s.keeper.tick(topology, obs);
    await s.time.advance(55_000);
    expect(await s.keeper.tick(topology, obs)).toEqual([]); // 55 s < 60 s
    await s.time.advance(6000);
    expect(await s.keeper.tick(topology, obs)).toEqual(['pg3']);
    expect(s.slots.calls).toContain('drop pg1 pg3');
    expect(s.events.find((e) => e.type === 'slot-dropped')).toMatchObject({
      node: 'pg1',
      slot: 'pg3',
      epoch: 3,
    });
    expect(s.keeper.slots.map((x) => x.name)).toEqual(['pg2']);
  });

  it('keeps the slot of a node that came back in time', async () => {
    const s = setup();
    await s.keeper.tick(topology, { pg1: seen(true), pg2: seen(true), pg3: seen(false) });
    await s.time.advance(30_000);
    await s.keeper.tick(topology, { pg1: seen(true), pg2: seen(true), pg3: seen(true) });
    await s.time.advance(40_000);
    await s.keeper.tick(topology, { pg1: seen(true), pg2: seen(true), pg3: seen(false) });
    expect(s.slots.calls.filter((c) => c.startsWith('drop'))).toEqual([]);
  });
});
