import { describe, expect, it } from 'vitest';

import { formatMs, isoFromWall } from '../../../src/core/format.js';

describe('isoFromWall', () => {
  it.each([
    0, 951_782_400_000, 951_868_799_999, 1_700_000_000_000, 1_709_164_800_123, 4_102_444_799_999,
    253_402_300_799_999,
  ])('%d matches Date#toISOString', (ms) => {
    expect(isoFromWall(ms)).toBe(new Date(ms).toISOString());
  });
});

describe('formatMs', () => {
  it('formats seconds with one decimal', () => {
    expect([formatMs(800), formatMs(12_345), formatMs(0)]).toEqual(['0.8 s', '12.3 s', '0.0 s']);
  });
});
