/**
 * HandshakeLimiter: at most `limit` opens in flight, the rest start in arrival order as slots
 * free up, and a failed open frees its slot too.
 */
import { describe, expect, it } from 'vitest';

import { HandshakeLimiter } from '../../../../src/adapters/postgres/handshakes.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('HandshakeLimiter', () => {
  it('runs at most `limit` at once and starts the others in arrival order', async () => {
    const limiter = new HandshakeLimiter(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    // observed now: the rejection of run 0 comes several turns before allSettled below
    for (const r of runs) r.catch(() => undefined);
    await flush();
    expect(started).toEqual([0, 1]);
    expect(limiter.load).toEqual({ active: 2, waiting: 2 });
    gates[1]!.resolve();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.reject(new Error('connect: timeout expired'));
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]!.resolve();
    gates[3]!.resolve();
    const settled = await Promise.allSettled(runs);
    expect(settled.map((r) => r.status)).toEqual([
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(limiter.load).toEqual({ active: 0, waiting: 0 });
  });

  it('refuses a limit below 1', () => {
    expect(() => new HandshakeLimiter(0)).toThrow(RangeError);
  });
});
