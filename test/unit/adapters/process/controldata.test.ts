import { describe, expect, it } from 'vitest';

import { cleanlyShutDown, parseControldata } from '../../../../src/adapters/process/controldata.js';

describe('pg_controldata output', () => {
  const out = `pg_control version number:            1300
Catalog version number:               202209061
Database system identifier:           7301234567890123456
Database cluster state:               shut down
pg_control last modified:             Fri 27 Nov 2026 09:00:00 PM UTC
Latest checkpoint location:           0/3000028
Latest checkpoint's REDO location:    0/3000028
Latest checkpoint's REDO WAL file:    000000020000000000000003
Latest checkpoint's TimeLineID:       2
Latest checkpoint's PrevTimeLineID:   2
`;
  it('reads the state, the final checkpoint (bytes and text) and the timeline', () => {
    const c = parseControldata(out);
    expect(c).toEqual({
      state: 'shut down',
      checkpointLsnText: '0/3000028',
      checkpointLsn: 0x3000028,
      timeline: 2,
    });
    expect(cleanlyShutDown(c)).toBe(true);
    expect(cleanlyShutDown({ ...c, state: 'shut down in recovery' })).toBe(true);
    expect(cleanlyShutDown({ ...c, state: 'in production' })).toBe(false);
  });
  it('names a missing line', () => {
    expect(() => parseControldata('Database cluster state: shut down\n')).toThrow(
      /Latest checkpoint location/,
    );
  });
});
