import { describe, expect, it } from 'vitest';

import { compareText } from '../../../src/core/compare.js';

describe('compareText', () => {
  it('orders by code unit, not locale', () => {
    expect(['pg10', 'Pg2', 'pg2', 'pg1'].sort(compareText)).toEqual(['Pg2', 'pg1', 'pg10', 'pg2']);
  });
});
