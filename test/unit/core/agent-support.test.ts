import { describe, expect, it } from 'vitest';

import {
  bytesToLsn,
  lsnToBytes,
  parseConninfo,
  upstreamOf,
} from '../../../src/core/agent/index.js';

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
