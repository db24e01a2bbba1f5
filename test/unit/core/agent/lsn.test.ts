import { describe, expect, it } from 'vitest';

import { bytesToLsn, lsnToBytes } from '../../../../src/core/agent/lsn.js';

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
