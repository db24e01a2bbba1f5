import { describe, expect, it } from 'vitest';

import { type LocalObservation, processOnlyObservation } from '../../../../src/core/agent/model.js';
import { primaryCheck, replicaCheck } from '../../../../src/runtime/agent/views.js';
import { aTopology } from '../../../builders/index.js';

const primary: LocalObservation = {
  ...processOnlyObservation({ running: true, standbySignal: false }),
  reachable: true,
  role: 'primary',
};
const standby: LocalObservation = {
  ...primary,
  role: 'standby',
  standbySignal: true,
  upstream: { host: '10.0.0.1', port: 5432 },
  slot: 'pg2',
  walReceiver: { status: 'streaming', senderHost: '10.0.0.1', senderPort: 5432 },
  replayedLsn: 1000,
  senderEndLsn: 1500,
};
const lease = { unconfirmedMs: 0, leaseMs: 5000 };

describe('GET /primary', () => {
  const rows: [string, Parameters<typeof primaryCheck>, boolean, RegExp][] = [
    [
      'the topology primary, writable',
      ['pg1', true, primary, aTopology(), lease],
      true,
      /primary of epoch 7/,
    ],
    ['loop stalled', ['pg1', false, primary, aTopology(), lease], false, /stalled/],
    [
      'not running',
      ['pg1', true, { ...primary, running: false }, aTopology(), lease],
      false,
      /not running/,
    ],
    [
      'silent',
      ['pg1', true, { ...primary, reachable: false, error: 'x' }, aTopology(), lease],
      false,
      /does not answer/,
    ],
    ['a standby', ['pg2', true, standby, aTopology(), lease], false, /recovery/],
    ['fenced', ['pg1', true, { ...primary, fenced: true }, aTopology(), lease], false, /fenced/],
    [
      'not the topology primary',
      ['pg1', true, primary, aTopology({ primary: 'pg2' }), lease],
      false,
      /names pg2/,
    ],
    [
      'lease expired',
      ['pg1', true, primary, aTopology(), { unconfirmedMs: 5000, leaseMs: 5000 }],
      false,
      /lease expired/,
    ],
  ];
  for (const [name, args, ok, reason] of rows)
    it(name, () => {
      const c = primaryCheck(...args);
      expect(c.ok).toBe(ok);
      expect(c.reason).toMatch(reason);
    });
});

describe('GET /replica', () => {
  const rows: [string, Parameters<typeof replicaCheck>, boolean, RegExp][] = [
    ['streaming', [true, standby, undefined], true, /streaming from 10.0.0.1:5432/],
    ['streaming within lag', [true, standby, 500], true, /streaming/],
    ['lag over the limit', [true, standby, 499], false, /replay lag 500 B over 499 B/],
    ['lag unknown with a limit', [true, { ...standby, senderEndLsn: null }, 10], false, /unknown/],
    [
      'receiver not streaming',
      [true, { ...standby, walReceiver: null }, undefined],
      false,
      /not running/,
    ],
    ['a primary', [true, primary, undefined], false, /a primary/],
    ['loop stalled', [false, standby, undefined], false, /stalled/],
  ];
  for (const [name, args, ok, reason] of rows)
    it(name, () => {
      const c = replicaCheck(...args);
      expect(c.ok).toBe(ok);
      expect(c.reason).toMatch(reason);
    });
});
