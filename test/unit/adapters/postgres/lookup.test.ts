import type { LookupAddress } from 'node:dns';
import { createServer, type Server, Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ResolveAll, sharedLookup } from '../../../../src/adapters/postgres/lookup.js';

/** a resolver whose answers the test hands out by name, counting the calls */
function resolver() {
  const calls: string[] = [];
  const pending = new Map<string, { ok: (a: LookupAddress[]) => void; fail: (e: Error) => void }>();
  const resolve: ResolveAll = (hostname) => {
    calls.push(hostname);
    return new Promise((ok, fail) => pending.set(hostname, { ok, fail }));
  };
  const answer = (hostname: string, address: string) =>
    pending.get(hostname)!.ok([{ address, family: 4 }]);
  const fail = (hostname: string, code: string) =>
    pending
      .get(hostname)!
      .fail(Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), { code }));
  return { calls, resolve, answer, fail };
}

const ask = (lookup: ReturnType<typeof sharedLookup>, hostname: string, all = false) =>
  new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((r) =>
    lookup(hostname, { all }, (err, address) => r({ err, address })),
  );
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('sharedLookup: one lookup per name in flight, the last answer when it is late', () => {
  it('callers of one name join the lookup in flight: a hung name holds one lookup, not one per probe', async () => {
    const r = resolver();
    const lookup = sharedLookup(r.resolve, 50);
    const asks = Array.from({ length: 10 }, () => ask(lookup, 'postgres_master'));
    await tick();
    expect(r.calls).toEqual(['postgres_master']);
    r.answer('postgres_master', '169.254.0.5');
    for (const a of await Promise.all(asks))
      expect(a).toEqual({ err: null, address: '169.254.0.5' });
    // settled: the next caller starts a fresh lookup
    const again = ask(lookup, 'postgres_master');
    await tick();
    expect(r.calls).toEqual(['postgres_master', 'postgres_master']);
    r.answer('postgres_master', '169.254.0.6');
    expect((await again).address).toBe('169.254.0.6'); // a fresh answer wins over the last one
  });

  it('a name that answered before gets its last answer once a fresh lookup is late (hung resolver)', async () => {
    const r = resolver();
    const lookup = sharedLookup(r.resolve, 50);
    const first = ask(lookup, 'postgres_slave', true);
    await tick();
    r.answer('postgres_slave', '169.254.0.10');
    expect((await first).address).toEqual([{ address: '169.254.0.10', family: 4 }]);
    const t0 = Date.now();
    const late = await ask(lookup, 'postgres_slave'); // the resolver never answers this one
    expect(late).toEqual({ err: null, address: '169.254.0.10' });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r.calls).toHaveLength(2);
  });

  it('a temporary failure (EAI_AGAIN) falls back to the last answer; ENOTFOUND forgets the name', async () => {
    const r = resolver();
    const lookup = sharedLookup(r.resolve, 5_000);
    const first = ask(lookup, 'pg2');
    await tick();
    r.answer('pg2', '169.254.0.10');
    await first;
    const again = ask(lookup, 'pg2');
    await tick();
    r.fail('pg2', 'EAI_AGAIN');
    expect(await again).toEqual({ err: null, address: '169.254.0.10' });
    const gone = ask(lookup, 'pg2');
    await tick();
    r.fail('pg2', 'ENOTFOUND');
    expect((await gone).err?.code).toBe('ENOTFOUND');
    const unknown = ask(lookup, 'pg2'); // forgotten: waits for the resolver, no last answer
    await tick();
    r.fail('pg2', 'EAI_AGAIN');
    expect((await unknown).err?.code).toBe('EAI_AGAIN');
  });

  it('a name never answered waits for its lookup (no answer is made up)', async () => {
    const r = resolver();
    const lookup = sharedLookup(r.resolve, 5);
    let done = false;
    const a = ask(lookup, 'fresh').then((x) => ((done = true), x));
    await new Promise((res) => setTimeout(res, 50));
    expect(done).toBe(false);
    r.answer('fresh', '169.254.0.7');
    expect((await a).address).toBe('169.254.0.7');
  });

  it('an IP address is never looked up', async () => {
    const r = resolver();
    const lookup = sharedLookup(r.resolve);
    expect(await ask(lookup, '127.0.0.1')).toEqual({ err: null, address: '127.0.0.1' });
    expect((await ask(lookup, '::1', true)).address).toEqual([{ address: '::1', family: 6 }]);
    expect(r.calls).toEqual([]);
  });
});

describe('sharedLookup as the lookup of net.connect', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('dials the address the system resolver gives for localhost (autoSelectFamily asks for all)', async () => {
    const lookup = sharedLookup();
    const s = new Socket();
    await new Promise<void>((ok, fail) => {
      s.once('error', fail);
      s.connect({ port, host: 'localhost', lookup, family: 4 }, ok);
    });
    expect(s.remoteAddress).toBe('127.0.0.1');
    s.destroy();
  });
});
