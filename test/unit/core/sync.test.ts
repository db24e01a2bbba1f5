import { describe, expect, it } from 'vitest';

import type { NodeConfig } from '../../../src/config/types.js';
import type { ProbeResult, ReplicaStat } from '../../../src/core/model.js';
import {
  parseSyncStandbyNames,
  planSync,
  type SyncInput,
  type SyncMemory,
  type SyncPlan,
  type SyncReason,
  syncStandbyNamesFor,
} from '../../../src/core/sync.js';
import {
  aClusterConfig,
  aProbe,
  aTiming,
  aTopology,
  NOW_MONO,
  observe,
  probesEvery,
} from '../../builders/index.js';

const LSN = 5_000_000;
const N2 = syncStandbyNamesFor('pg2');
const N3 = syncStandbyNamesFor('pg3');

/** A pg_stat_replication row: streaming, async, caught up unless patched. */
function row(name: string, patch: Partial<ReplicaStat> = {}): ReplicaStat {
  return {
    name,
    state: 'streaming',
    syncState: 'async',
    sentLsn: LSN,
    replayLsn: LSN,
    lagBytes: 0,
    replayLagSeconds: 0,
    ...patch,
  };
}
const sync = (name: string, patch: Partial<ReplicaStat> = {}) =>
  row(name, { syncState: 'sync', ...patch });

interface Case {
  name?: string;
  primary?: string;
  recorded?: string[];
  /** the primary's synchronous_standby_names; undefined = not read */
  names?: string | undefined;
  replicas?: ReplicaStat[];
  /** nodes this sentinel cannot reach (10 s of failed probes) */
  unreachable?: string[];
  primaryDown?: boolean;
  memory?: SyncMemory;
  nodes?: Partial<Record<string, Partial<NodeConfig>>>;
}

function input(c: Case): SyncInput {
  const primary = c.primary ?? 'pg1';
  const timing = aTiming();
  const probes: ProbeResult[] = [];
  for (const name of ['pg1', 'pg2', 'pg3']) {
    if (c.unreachable?.includes(name) || (name === primary && c.primaryDown)) {
      probes.push(
        ...probesEvery(name, NOW_MONO - 9500, NOW_MONO - 100, (at) =>
          aProbe(name).failed('timeout').at(at).build(),
        ),
      );
    } else if (name === primary) {
      const patch: Partial<ProbeResult> = { replicas: c.replicas ?? [] };
      if (!('names' in c) || c.names !== undefined) patch.syncStandbyNames = c.names ?? '';
      probes.push(aProbe(name).primary(LSN).with(patch).build());
    } else {
      probes.push(aProbe(name).standby(LSN).streaming().build());
    }
  }
  const nodes = aClusterConfig().nodes.map((n) => ({ ...n, ...(c.nodes?.[n.name] ?? {}) }));
  return {
    topology: aTopology({ primary, syncStandbys: c.recorded ?? [] }),
    nodes,
    observations: observe(probes, NOW_MONO, timing),
    memory: c.memory ?? {},
    nowMono: NOW_MONO,
  };
}

const bar = (standby: string, lsn = LSN, primary = 'pg1'): SyncMemory => ({
  named: { primary, standby, lsn },
});
const lostEarlier = (standby: string): SyncMemory => ({
  lost: { standby, sinceMono: NOW_MONO - 300 },
});

/** Steps as short strings: `record [pg2]`, `names FIRST 1 ("pg2")`, `names ''`. */
function steps(plan: SyncPlan): string[] {
  return plan.steps.map((s) =>
    s.type === 'record' ? `record [${s.syncStandbys.join(',')}]` : `names ${s.value || "''"}`,
  );
}

describe('planSync', () => {
  const cases: (Case & {
    name: string;
    reason: SyncReason;
    target: string | null;
    steps: string[];
  })[] = [
    // --- nothing to act on
    {
      name: 'primary not observed: nothing, whatever else is true',
      primaryDown: true,
      recorded: ['pg2'],
      reason: 'primary-not-observed',
      target: null,
      steps: [],
    },
    {
      name: 'names not read by the probe: nothing',
      names: undefined,
      replicas: [row('pg2')],
      reason: 'names-unknown',
      target: null,
      steps: [],
    },
    // --- adding: names first, record only on a later tick once sync and caught up
    {
      name: 'fresh cluster: set the names, never record in the same plan',
      replicas: [row('pg2'), row('pg3')],
      reason: 'set-standby',
      target: 'pg2',
      steps: [`names ${N2}`],
    },
    {
      name: 'choice: lowest lag first',
      replicas: [row('pg2', { lagBytes: 1000 }), row('pg3')],
      reason: 'set-standby',
      target: 'pg3',
      steps: [`names ${N3}`],
    },
    {
      name: 'choice: equal lag, higher priority (pg2 100 > pg3 50)',
      replicas: [row('pg3'), row('pg2')],
      reason: 'set-standby',
      target: 'pg2',
      steps: [`names ${N2}`],
    },
    {
      name: 'choice: equal lag and priority, name ascending',
      nodes: { pg3: { priority: 100 } },
      replicas: [row('pg3'), row('pg2')],
      reason: 'set-standby',
      target: 'pg2',
      steps: [`names ${N2}`],
    },
    {
      name: 'choice: a noFailover standby is never made synchronous',
      nodes: { pg2: { noFailover: true } },
      replicas: [row('pg2'), row('pg3', { lagBytes: 5000 })],
      reason: 'set-standby',
      target: 'pg3',
      steps: [`names ${N3}`],
    },
    {
      name: 'choice: a standby still in catchup is not healthy',
      replicas: [row('pg2', { state: 'catchup' }), row('pg3', { lagBytes: 5000 })],
      reason: 'set-standby',
      target: 'pg3',
      steps: [`names ${N3}`],
    },
    {
      name: 'choice: a standby this sentinel cannot reach is not healthy, even if it streams',
      unreachable: ['pg2'],
      replicas: [row('pg2'), row('pg3', { lagBytes: 5000 })],
      reason: 'set-standby',
      target: 'pg3',
      steps: [`names ${N3}`],
    },
    {
      name: 'names in effect, no bar yet: take the bar from this probe, do not record',
      names: N2,
      replicas: [sync('pg2')],
      reason: 'waiting-for-catch-up',
      target: 'pg2',
      steps: [],
    },
    {
      name: 'bar set, not sync yet: wait',
      names: N2,
      memory: bar('pg2'),
      replicas: [row('pg2', { syncState: 'potential' })],
      reason: 'waiting-for-sync',
      target: 'pg2',
      steps: [],
    },
    {
      name: 'sync but replay below the bar: wait',
      names: N2,
      memory: bar('pg2', LSN + 100),
      replicas: [sync('pg2')],
      reason: 'waiting-for-catch-up',
      target: 'pg2',
      steps: [],
    },
    {
      name: 'a bar taken under another primary does not count',
      names: N2,
      memory: bar('pg2', LSN, 'pg9'),
      replicas: [sync('pg2')],
      reason: 'waiting-for-catch-up',
      target: 'pg2',
      steps: [],
    },
    {
      name: 'sync, streaming, replayed the bar: record it',
      names: N2,
      memory: bar('pg2'),
      replicas: [sync('pg2'), row('pg3')],
      reason: 'record-standby',
      target: 'pg2',
      steps: ['record [pg2]'],
    },
    // --- keeping
    {
      name: 'steady: keep the recorded standby even when another has less lag',
      names: N2,
      recorded: ['pg2'],
      replicas: [sync('pg2', { lagBytes: 9000 }), row('pg3')],
      reason: 'in-sync',
      target: 'pg2',
      steps: [],
    },
    {
      name: 'pending (named, not recorded) is kept over a standby with less lag',
      names: N3,
      replicas: [row('pg2'), row('pg3', { lagBytes: 9000 })],
      reason: 'waiting-for-catch-up',
      target: 'pg3',
      steps: [],
    },
    // --- removing / replacing: un-record first, then move the names
    {
      name: 'recorded standby gone, first tick: confirm before acting',
      names: N2,
      recorded: ['pg2'],
      replicas: [row('pg3')],
      reason: 'confirming-loss',
      target: 'pg2',
      steps: [],
    },
    {
      name: 'recorded standby gone on two ticks, another healthy: record [] then names -> pg3',
      names: N2,
      recorded: ['pg2'],
      memory: lostEarlier('pg2'),
      replicas: [row('pg3')],
      reason: 'set-standby',
      target: 'pg3',
      steps: ['record []', `names ${N3}`],
    },
    {
      name: 'recorded standby down in our view (still streaming), confirmed: replaced',
      names: N2,
      recorded: ['pg2'],
      unreachable: ['pg2'],
      memory: lostEarlier('pg2'),
      replicas: [sync('pg2'), row('pg3')],
      reason: 'set-standby',
      target: 'pg3',
      steps: ['record []', `names ${N3}`],
    },
    {
      name: 'no healthy standby, confirmed: record [] BEFORE clearing the names',
      names: N2,
      recorded: ['pg2'],
      memory: lostEarlier('pg2'),
      replicas: [],
      reason: 'no-healthy-standby',
      target: null,
      steps: ['record []', "names ''"],
    },
    {
      name: 'pending standby gone, none other: clear the names (nothing recorded)',
      names: N2,
      replicas: [],
      reason: 'no-healthy-standby',
      target: null,
      steps: ["names ''"],
    },
    {
      name: 'no standby, nothing set: nothing to do',
      replicas: [],
      reason: 'no-healthy-standby',
      target: null,
      steps: [],
    },
    {
      name: 'a foreign value is replaced',
      names: 'ANY 2 (a, b)',
      replicas: [row('pg2')],
      reason: 'set-standby',
      target: 'pg2',
      steps: [`names ${N2}`],
    },
    // --- stale records: un-recorded at once
    {
      name: 'recorded but the names are empty (e.g. after a switchover): un-record, then set',
      names: '',
      recorded: ['pg2'],
      replicas: [sync('pg2')],
      reason: 'set-standby',
      target: 'pg2',
      steps: ['record []', `names ${N2}`],
    },
    {
      name: 'recorded pg3 but the names carry pg2 (pending): un-record pg3 now',
      names: N2,
      recorded: ['pg3'],
      replicas: [sync('pg2'), row('pg3')],
      reason: 'waiting-for-catch-up',
      target: 'pg2',
      steps: ['record []'],
    },
    {
      name: 'recorded pg3, names carry pg2, pg2 ready: one record replaces it',
      names: N2,
      recorded: ['pg3'],
      memory: bar('pg2'),
      replicas: [sync('pg2'), row('pg3')],
      reason: 'record-standby',
      target: 'pg2',
      steps: ['record [pg2]'],
    },
    // --- after a failover (pg2 promoted, syncStandbys minus pg2 = [])
    {
      name: 'new primary with empty names: first reconcile names the surviving standby',
      primary: 'pg2',
      names: '',
      replicas: [row('pg3')],
      reason: 'set-standby',
      target: 'pg3',
      steps: [`names ${N3}`],
    },
    {
      name: 'new primary with stale names of itself (rewound auto.conf): replaced',
      primary: 'pg2',
      names: N2,
      replicas: [row('pg3'), row('pg1')],
      reason: 'set-standby',
      target: 'pg1',
      steps: [`names ${syncStandbyNamesFor('pg1')}`],
    },
  ];

  it.each(cases)('$name', (c) => {
    const plan = planSync(input(c));
    expect({ reason: plan.reason, target: plan.target, steps: steps(plan) }).toEqual({
      reason: c.reason,
      target: c.target,
      steps: c.steps,
    });
  });

  it('takes the bar from the probe that first shows the names, and records on a later tick', () => {
    const first = planSync(input({ names: N2, replicas: [sync('pg2')] }));
    expect(first.memory.named).toEqual({ primary: 'pg1', standby: 'pg2', lsn: LSN });
    const second = planSync(input({ names: N2, replicas: [sync('pg2')], memory: first.memory }));
    expect(steps(second)).toEqual(['record [pg2]']);
  });

  it('confirms a loss across two ticks, not two calls at the same instant', () => {
    const c: Case = { names: N2, recorded: ['pg2'], replicas: [row('pg3')] };
    const first = planSync(input(c));
    expect(first.memory.lost).toEqual({ standby: 'pg2', sinceMono: NOW_MONO });
    expect(planSync(input({ ...c, memory: first.memory })).reason).toBe('confirming-loss');
    const later = planSync({ ...input({ ...c, memory: first.memory }), nowMono: NOW_MONO + 300 });
    expect(steps(later)).toEqual(['record []', `names ${N3}`]);
  });

  it('forgets a loss when the standby is healthy again', () => {
    const plan = planSync(
      input({ names: N2, recorded: ['pg2'], replicas: [sync('pg2')], memory: lostEarlier('pg2') }),
    );
    expect(plan.reason).toBe('in-sync');
    expect(plan.memory.lost).toBeUndefined();
  });

  it('records with reasons that name the standby', () => {
    const plan = planSync(input({ names: N2, memory: bar('pg2'), replicas: [sync('pg2')] }));
    expect(plan.steps[0]).toEqual({
      type: 'record',
      syncStandbys: ['pg2'],
      reason: 'sync standby pg2',
    });
    const none = planSync(
      input({ names: N2, recorded: ['pg2'], memory: lostEarlier('pg2'), replicas: [] }),
    );
    expect(none.steps[0]).toMatchObject({ type: 'record', syncStandbys: [] });
    expect((none.steps[0] as { reason: string }).reason).toMatch(/^sync standby none: /);
  });
});

/**
 * The invariant over every combination of a small state space: a plan never moves the names
 * while something is recorded, and records a standby only when the names carry it, the primary
 * shows it streaming + sync, and it replayed a bar taken under those names.
 */
describe('planSync invariants (exhaustive over a small state space)', () => {
  const recordedOpts = [[], ['pg2'], ['pg3']];
  const namesOpts = ['', N2, N3, 'foo'];
  const rowOpts: (ReplicaStat | null)[][] = [];
  const variants = (n: string) => [
    null,
    row(n, { state: 'catchup' }),
    row(n),
    sync(n),
    sync(n, { replayLsn: LSN - 10 }),
  ];
  for (const a of variants('pg2')) for (const b of variants('pg3')) rowOpts.push([a, b]);
  const memoryOpts: SyncMemory[] = [
    {},
    bar('pg2'),
    bar('pg3'),
    bar('pg2', LSN + 1),
    lostEarlier('pg2'),
    lostEarlier('pg3'),
  ];

  it('holds for every combination', () => {
    let checked = 0;
    for (const recorded of recordedOpts)
      for (const names of namesOpts)
        for (const rows of rowOpts)
          for (const memory of memoryOpts) {
            const replicas = rows.filter((r): r is ReplicaStat => r !== null);
            const plan = planSync(input({ recorded, names, replicas, memory }));
            let effective = recorded;
            let namesNow = names;
            for (const s of plan.steps) {
              if (s.type === 'set-names') {
                expect(effective, `${plan.reason}: names moved while recorded`).toEqual([]);
                namesNow = s.value;
              } else if (s.syncStandbys.length > 0) {
                const x = s.syncStandbys[0]!;
                const r = replicas.find((y) => y.name === x);
                expect(namesNow).toBe(syncStandbyNamesFor(x));
                expect(r?.state).toBe('streaming');
                expect(r?.syncState).toBe('sync');
                expect(memory.named?.standby).toBe(x);
                expect(r!.replayLsn).toBeGreaterThanOrEqual(memory.named!.lsn);
                effective = s.syncStandbys;
              } else effective = [];
            }
            // whatever stays recorded after the plan is carried by the names
            for (const x of effective) expect(namesNow).toBe(syncStandbyNamesFor(x));
            checked++;
          }
    expect(checked).toBe(3 * 4 * 25 * 6);
  });
});

describe('synchronous_standby_names format', () => {
  it('quotes the name and parses it back', () => {
    expect(syncStandbyNamesFor('pg2')).toBe('FIRST 1 ("pg2")');
    expect(syncStandbyNamesFor('a"b')).toBe('FIRST 1 ("a""b")');
    expect(parseSyncStandbyNames('FIRST 1 ("a""b")')).toBe('a"b');
    expect(parseSyncStandbyNames(' FIRST 1 ("pg2") ')).toBe('pg2');
  });

  it('treats anything else as no standby of ours', () => {
    for (const v of ['', '*', 'pg2', 'FIRST 2 ("pg2", "pg3")', 'ANY 1 ("pg2")'])
      expect(parseSyncStandbyNames(v)).toBeNull();
  });
});
