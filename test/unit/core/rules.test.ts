import { describe, expect, it } from 'vitest';

import { standbyStillStreaming } from '../../../src/core/rules.js';
import { aCluster, aProbe, type ClusterBuilder, NOW_MONO } from '../../builders/index.js';

function check(b: ClusterBuilder): ReturnType<typeof standbyStillStreaming> {
  const s = b.build();
  return standbyStillStreaming({
    primary: 'pg1',
    nodes: s.cluster.nodes,
    observations: s.health,
    nowMono: s.nowMono,
    downAfterMs: s.timing.downAfterMs,
  });
}

const only = (b: ClusterBuilder): ClusterBuilder =>
  b.withProbes('pg3', aProbe('pg3').standby().build());

describe('rule 2: a standby still streaming from the primary', () => {
  const cases: { name: string; b: ClusterBuilder; holds: boolean; standby?: string }[] = [
    { name: 'healthy cluster: standbys streaming', b: aCluster(), holds: true, standby: 'pg2' },
    {
      name: 'primary down: receivers gone, no evidence',
      b: aCluster().withPrimaryDown(),
      holds: false,
    },
    {
      name: 'one standby still streaming while the primary looks down',
      b: aCluster()
        .withPrimaryDown()
        .withProbes('pg3', aProbe('pg3').standby().streaming(500).build()),
      holds: true,
      standby: 'pg3',
    },
    {
      name: 'receiver waiting (disconnected): no evidence',
      b: only(
        aCluster().withProbes(
          'pg2',
          aProbe('pg2').standby().receiver({ status: 'waiting' }).build(),
        ),
      ),
      holds: false,
    },
    {
      name: 'last message just under downAfter',
      b: only(aCluster().withProbes('pg2', aProbe('pg2').standby().streaming(2899).build())),
      holds: true,
      standby: 'pg2',
    },
    {
      name: 'last message downAfter ago: stale',
      b: only(aCluster().withProbes('pg2', aProbe('pg2').standby().streaming(2900).build())),
      holds: false,
    },
    {
      name: 'fresh message but an old probe: stale as of now',
      b: only(
        aCluster().withProbes(
          'pg2',
          aProbe('pg2')
            .standby()
            .streaming(100)
            .at(NOW_MONO - 2950)
            .build(),
        ),
      ),
      holds: false,
    },
    {
      name: 'cascading from another standby proves nothing about the primary',
      b: only(
        aCluster().withProbes(
          'pg2',
          aProbe('pg2').standby().streaming(100, { host: '10.0.0.3', port: 5432 }).build(),
        ),
      ),
      holds: false,
    },
    {
      name: 'sender through an unknown address (proxy) still counts',
      b: only(
        aCluster().withProbes(
          'pg2',
          aProbe('pg2').standby().streaming(100, { host: '127.0.0.1', port: 6432 }).build(),
        ),
      ),
      holds: true,
      standby: 'pg2',
    },
    {
      name: 'the freshest standby is named',
      b: aCluster()
        .withProbes('pg2', aProbe('pg2').standby().streaming(900).build())
        .withProbes('pg3', aProbe('pg3').standby().streaming(50).build()),
      holds: true,
      standby: 'pg3',
    },
    {
      name: 'a standby never reached gives no evidence',
      b: only(aCluster().withUnreachable('pg2')),
      holds: false,
    },
  ];

  it.each(cases)('$name', ({ b, holds, standby }) => {
    const r = check(b);
    expect({ holds: r.holds, standby: r.standby }).toEqual({ holds, standby });
  });

  it('explains itself', () => {
    expect(check(aCluster()).evidence).toBe(
      'pg2 is streaming from the primary, last message 0.2 s ago (downAfter 3.0 s)',
    );
  });
});
