import { describe, expect, it } from 'vitest';

import { cleanlyShutDown, parseControldata } from '../../../../src/adapters/process/controldata.js';
import {
  bytesToLsn,
  lsnToBytes,
  parseConninfo,
  upstreamOf,
} from '../../../../src/core/agent/index.js';

describe('LSN text', () => {
  const rows: [string, number][] = [
    ['0/0', 0],
    ['0/3000028', 0x3000028],
    ['16/B374D848', 0x16 * 2 ** 32 + 0xb374d848],
    ['FFFF/FFFFFFFF', 0xffff * 2 ** 32 + 0xffffffff],
  ];
  for (const [text, bytes] of rows) {
    it(`${text} <-> ${bytes}`, () => {
      expect(lsnToBytes(text)).toBe(bytes);
      expect(bytesToLsn(bytes)).toBe(text);
    });
  }
  it('refuses what is not an LSN', () => {
    expect(() => lsnToBytes('0-1')).toThrow(/not an LSN/);
  });
});

describe('conninfo', () => {
  it('parses keyword/value pairs with quotes and escapes', () => {
    expect(
      parseConninfo(
        "host=127.0.0.1 port=5433 user=replicator password='a b\\'c' application_name=pg2",
      ),
    ).toEqual({
      host: '127.0.0.1',
      port: '5433',
      user: 'replicator',
      password: "a b'c",
      application_name: 'pg2',
    });
  });
  it('finds host and port, 5432 by default, in both forms', () => {
    expect(upstreamOf('host=db1 user=x')).toEqual({ host: 'db1', port: 5432 });
    expect(upstreamOf('postgresql://u:p@db2:6543/postgres')).toEqual({ host: 'db2', port: 6543 });
    expect(upstreamOf('')).toBeNull();
    expect(upstreamOf(null)).toBeNull();
    expect(upstreamOf('user=x')).toBeNull();
  });
});

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
