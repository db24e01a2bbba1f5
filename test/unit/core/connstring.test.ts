import { describe, expect, it } from 'vitest';

import { multiHostUrl } from '../../../src/core/connstring.js';
import type { Topology } from '../../../src/core/model.js';

const t: Topology = {
  cluster: 'c',
  epoch: 3,
  primary: 'pg2',
  syncStandbys: [],
  state: 'ok',
  updatedAt: '2026-01-01T00:00:00.000Z',
  reason: 'test',
  nodes: [
    { name: 'pg1', host: '10.0.0.1', port: 5432, role: 'standby', state: 'up' },
    { name: 'pg2', host: '10.0.0.2', port: 5433, role: 'primary', state: 'up' },
    { name: 'pg3', host: '::1', port: 5434, role: 'standby', state: 'fenced' },
  ],
};

describe('multiHostUrl', () => {
  it('read-write: the primary first, fenced nodes left out, no password', () => {
    expect(multiHostUrl(t, { user: 'app', database: 'shop' })).toBe(
      'postgresql://app@10.0.0.2:5433,10.0.0.1:5432/shop?target_session_attrs=read-write&connect_timeout=2',
    );
  });

  it('read-only: standbys first, prefer-standby; IPv6 in brackets', () => {
    const open = { ...t, nodes: t.nodes.map((n) => ({ ...n, state: 'up' as const })) };
    expect(multiHostUrl(open, { database: 'db', readOnly: true })).toBe(
      'postgresql://10.0.0.1:5432,[::1]:5434,10.0.0.2:5433/db?target_session_attrs=prefer-standby&connect_timeout=2',
    );
  });
});
