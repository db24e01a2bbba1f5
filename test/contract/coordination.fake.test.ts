import { describe, expect, it } from 'vitest';

import { backup, escapeGlob, keys } from '../../src/adapters/redis/keys.js';
import type { CoordinationStore } from '../../src/ports/coordination.js';
import { FakeCoordinationStore, FakeRedisBackend, ManualClock } from '../fakes/coordination.js';
import { describeCoordinationContract } from './coordination.contract.js';

describeCoordinationContract('in-memory fake', async () => {
  const clock = new ManualClock();
  const backend = new FakeRedisBackend({ servers: 3, now: clock.now });
  const stores: CoordinationStore[] = [];
  const open = (): FakeCoordinationStore => {
    const store = new FakeCoordinationStore({ backend });
    stores.push(store);
    return store;
  };
  return {
    store: open(),
    another: async () => open(),
    downServer: (i) => backend.down(i),
    upServer: (i) => backend.up(i),
    advance: (ms) => clock.advance(ms),
    cleanup: async () => {
      await Promise.all(stores.map((s) => s.close()));
    },
  };
});

describe('Redis key names', () => {
  it('puts every per-cluster key under the prefix', () => {
    const k = keys();
    expect(k.topology('main')).toBe('pgvigil:main:topology');
    expect(k.vote('main', 's1')).toBe('pgvigil:main:vote:s1');
    expect(k.votePattern('main')).toBe('pgvigil:main:vote:*');
    expect(k.sentinel('main', 'host-1')).toBe('pgvigil:main:sentinel:host-1');
    expect(k.sentinelPattern('main')).toBe('pgvigil:main:sentinel:*');
    expect(k.lock('main')).toBe('pgvigil:main:lock');
    expect(k.events('main')).toBe('pgvigil:main:events');
    expect(k.history('main')).toBe('pgvigil:main:history');
    expect(k.paused('main')).toBe('pgvigil:main:paused');
    expect(keys('acme').topology('db')).toBe('acme:db:topology');
  });

  it('names backups as the Fase2 manual, without prefix', () => {
    expect(backup('completo', '2025-10-08')).toBe('backup:completo:2025-10-08');
    expect(backup('incremental', new Date(2025, 0, 5, 12))).toBe('backup:incremental:2025-01-05');
  });

  it('matches cluster names literally in SCAN patterns', () => {
    expect(escapeGlob('a*b?[c]')).toBe('a\\*b\\?\\[c\\]');
    expect(keys().votePattern('x*')).toBe('pgvigil:x\\*:vote:*');
  });
});

describe('FakeCoordinationStore specifics', () => {
  it('lists what it published and fails fast on a down server', async () => {
    const store = new FakeCoordinationStore({ servers: 1 });
    expect(store.majority).toBe(1);
    store.down(0);
    await expect(store.readTopology('c')).rejects.toThrow(/1 of 1 Redis servers unreachable/);
    store.up(0);
    expect((await store.readTopology('c')).value).toBeNull();
    await store.close();
  });
});
