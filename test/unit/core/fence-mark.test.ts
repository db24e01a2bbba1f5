import { describe, expect, it } from 'vitest';

import { fencedNodes, withFenceMark } from '../../../src/core/fence-mark.js';
import { TopologySchema } from '../../../src/ports/records.js';
import { aTopology } from '../../builders/topology.js';

const o = { nowIso: '2026-12-02T16:00:00.000Z', by: 'op@host' };

describe('the operator fence mark in the topology', () => {
  it('marks one epoch up, same primary; clearing the last one drops the key', () => {
    const t = aTopology();
    const marked = withFenceMark(t, t.primary, true, o)!;
    expect(marked).toMatchObject({
      epoch: t.epoch + 1,
      primary: t.primary,
      fenced: [t.primary],
      committedBy: 'op@host',
    });
    expect(TopologySchema.safeParse(marked).success).toBe(true);
    const cleared = withFenceMark(marked, t.primary, false, o)!;
    expect(cleared.epoch).toBe(t.epoch + 2);
    expect('fenced' in cleared).toBe(false);
    expect(fencedNodes(cleared)).toEqual([]);
  });

  it('no commit when the mark already says so', () => {
    const t = aTopology();
    expect(withFenceMark(t, 'pg2', false, o)).toBeNull();
    expect(withFenceMark({ ...t, fenced: ['pg2'] }, 'pg2', true, o)).toBeNull();
  });

  it('a topology without the key (written before it existed) still parses', () => {
    expect(TopologySchema.safeParse(aTopology()).success).toBe(true);
  });
});
