/**
 * The namespaced network of `local up --netns` (root): `local down` removes every namespace,
 * veth and the subnet's claim by the names in netns.json, also when the harness crashed before
 * state.json was written; a partition drops packets in silence (a connect times out, it is not
 * refused) and `heal` restores them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { localDown } from '../../src/local/down.js';
import {
  createNetns,
  heal,
  partition,
  planNetns,
  readNetns,
  removeNetns,
} from '../../src/local/netns.js';

const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];
const cleanup = (): void => {
  for (const d of dirs) {
    const net = readNetns(d);
    if (net) removeNetns(d, net);
    rmSync(d, { recursive: true, force: true });
  }
};
process.once('exit', cleanup);

const namespaces = (): string => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const links = (): string => execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });

/** 'connected' | 'refused' | 'timeout' from the host to addr:port */
function probe(addr: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: addr, port });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve('timeout');
    });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'ECONNREFUSED' ? 'refused' : String(e.code)),
    );
  });
}

describe.skipIf(!isRoot)('local --netns network', () => {
  afterAll(cleanup);

  it('down removes what a crashed up left, by the recorded names; partitions drop in silence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgvigil-netns-'));
    dirs.push(dir);
    const plan = planNetns(dir, ['a', 'b']);
    createNetns(dir, plan); // and no state.json: as if `local up` died here
    expect(namespaces()).toContain(plan.members[0]!.ns);
    expect(links()).toContain(plan.hostVeth);

    // a listener inside `a`, reached from the host through the bridge
    const a = plan.members[0]!;
    const child = spawn(
      'nsenter',
      [
        `--net=/run/netns/${a.ns}`,
        process.execPath,
        '-e',
        `require('net').createServer((s) => s.end()).listen(7777, '${a.addr}')`,
      ],
      { stdio: 'ignore' },
    );
    try {
      for (let i = 0; i < 50 && (await probe(a.addr, 7777)) !== 'connected'; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(await probe(a.addr, 7777)).toBe('connected');
      expect(await probe(a.addr, 7778)).toBe('refused');
      partition(dir, 'host', 'a', false);
      expect(await probe(a.addr, 7777)).toBe('timeout'); // silence, not a refusal
      heal(dir);
      expect(await probe(a.addr, 7777)).toBe('connected');
    } finally {
      child.kill('SIGKILL');
    }

    await localDown({ dir, quiet: true });
    expect(readNetns(dir)).toBeNull();
    for (const m of plan.members) expect(namespaces()).not.toContain(m.ns);
    expect(namespaces()).not.toContain(plan.bridgeNs);
    expect(links()).not.toContain(plan.hostVeth);
  });
});
