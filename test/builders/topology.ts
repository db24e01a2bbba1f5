import type { Topology } from '../../src/core/model.js';
import { EPOCH } from './timing.js';

/** pg1 primary, pg2 and pg3 standbys, epoch 7, state ok. */
export function aTopology(overrides: Partial<Topology> = {}): Topology {
  return {
    cluster: 'c1',
    epoch: EPOCH,
    primary: 'pg1',
    nodes: [
      { name: 'pg1', host: '10.0.0.1', port: 5432, role: 'primary', state: 'up' },
      { name: 'pg2', host: '10.0.0.2', port: 5432, role: 'standby', state: 'up' },
      { name: 'pg3', host: '10.0.0.3', port: 5432, role: 'standby', state: 'up' },
    ],
    syncStandbys: [],
    state: 'ok',
    updatedAt: '2023-11-14T22:00:00.000Z',
    reason: 'initial',
    ...overrides,
  };
}
