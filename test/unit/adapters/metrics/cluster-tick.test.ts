/**
 * SentinelMetrics.clusterTick sets a gauge only when its value changed (idle cost): what
 * /metrics shows must still follow every change, per cluster and node.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { SentinelMetrics } from '../../../../src/adapters/metrics/metrics.js';
import type { NodeViewDetail } from '../../../../src/core/views.js';

const view = (o: Partial<NodeViewDetail> = {}): NodeViewDetail => ({
  up: true,
  role: 'standby',
  lagBytes: 0,
  lagSeconds: 0,
  evidence: '',
  lsn: 100,
  probe: null,
  ...o,
});

async function value(r: Registry, metric: string, labels: Record<string, string>) {
  const m = (await r.getMetricsAsJSON()).find((x) => x.name === metric);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value;
}

describe('SentinelMetrics.clusterTick', () => {
  it('follows every change of a gauge, per cluster and node, across unchanged ticks', async () => {
    const r = new Registry();
    const m = new SentinelMetrics(r, { defaults: false });
    const tick = (
      c: string,
      views: Record<string, NodeViewDetail>,
      epoch: number,
      leader = false,
    ) => m.clusterTick({ cluster: c, views, leader, downVotes: 0, epoch, tilt: false });
    tick('c1', { pg1: view({ role: 'primary' }), pg2: view({ lagBytes: 10 }) }, 1, true);
    tick('c2', { pg1: view({ role: 'primary' }), pg2: view({ lagBytes: 10 }) }, 7);
    tick('c1', { pg1: view({ role: 'primary' }), pg2: view({ lagBytes: 10 }) }, 1, true);
    expect(await value(r, 'pgvigil_replication_lag_bytes', { cluster: 'c1', node: 'pg2' })).toBe(
      10,
    );
    tick('c1', { pg1: view({ role: 'primary', up: false }), pg2: view({ lagBytes: 20 }) }, 1, true);
    expect(await value(r, 'pgvigil_replication_lag_bytes', { cluster: 'c1', node: 'pg2' })).toBe(
      20,
    );
    expect(await value(r, 'pgvigil_replication_lag_bytes', { cluster: 'c2', node: 'pg2' })).toBe(
      10,
    );
    expect(await value(r, 'pgvigil_node_up', { cluster: 'c1', node: 'pg1' })).toBe(0);
    expect(await value(r, 'pgvigil_node_up', { cluster: 'c2', node: 'pg1' })).toBe(1);
    tick('c1', { pg1: view({ role: 'standby' }), pg2: view({ role: 'primary' }) }, 2, false);
    expect(await value(r, 'pgvigil_node_is_primary', { cluster: 'c1', node: 'pg2' })).toBe(1);
    expect(await value(r, 'pgvigil_node_is_primary', { cluster: 'c1', node: 'pg1' })).toBe(0);
    expect(await value(r, 'pgvigil_topology_epoch', { cluster: 'c1' })).toBe(2);
    expect(await value(r, 'pgvigil_topology_epoch', { cluster: 'c2' })).toBe(7);
    expect(await value(r, 'pgvigil_sentinel_is_leader', { cluster: 'c1' })).toBe(0);
  });
});
