/**
 * A flapping primary (issue 7): for a minute, pg1 hangs (SIGSTOP of the postmaster and its
 * children) and comes back (SIGCONT) every half `downAfterMs` (1.5 s each way). A node that
 * answers again before `downAfterMs` never counts as down, and the cooldown (rule 6) bounds what
 * a flap may still cause: no failover, or exactly one, and one writable primary at the end.
 * (Over 60 s: in test/faults, run by `npm run test:faults`.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { localKill } from '../../src/local/cluster.js';
import {
  eventually,
  inRecovery,
  type LocalHandle,
  sleep,
  sql,
  startLocal,
} from '../helpers/local.js';

const HALF_DOWN_AFTER_MS = 1500;
const FLAP_FOR_MS = 60_000;

describe('a primary that drops and returns every half downAfterMs for a minute', () => {
  let h: LocalHandle;
  beforeAll(async () => {
    h = await startLocal({ nodes: 3, sentinels: 3, agents: false });
  });
  afterAll(async () => {
    await localKill({ dir: h.state.dir, name: 'pg1', signal: 'CONT' }).catch(() => undefined);
    await h?.down();
  });

  it('no failover, or exactly one', async () => {
    const e = (await h.topology())!.epoch;
    const until = Date.now() + FLAP_FOR_MS;
    let flaps = 0;
    while (Date.now() < until) {
      await localKill({ dir: h.state.dir, name: 'pg1', signal: 'STOP' });
      await sleep(HALF_DOWN_AFTER_MS);
      await localKill({ dir: h.state.dir, name: 'pg1', signal: 'CONT' });
      await sleep(HALF_DOWN_AFTER_MS);
      flaps++;
    }
    expect(flaps).toBeGreaterThanOrEqual(15);
    await sleep(5000); // let whatever was under way settle
    const t = await eventually(async () => {
      const x = await h.topology();
      return x && x.state === 'ok' ? x : undefined;
    }, 30_000);
    const failovers = h.events.filter((x) => x.type === 'failover-started');
    expect(failovers.length).toBeLessThanOrEqual(1);
    expect(t.epoch).toBeLessThanOrEqual(e + 1);
    // exactly one writable primary: the one the topology names (any other is a standby or fenced)
    for (const n of h.state.nodes) {
      const node = h.node(n.name);
      const standby = await inRecovery(node);
      if (n.name === t.primary) expect(standby).toBe(false);
      else if (!standby) {
        const [row] = await sql<{ ro: string }>(node, 'SHOW default_transaction_read_only AS ro');
        expect(row?.ro).toBe('on');
      }
    }
  });
});
