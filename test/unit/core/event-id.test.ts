import { describe, expect, it } from 'vitest';

import { compareEventIds, EventIds, isEventId, SALT_SPACE } from '../../../src/core/event-id.js';

describe('EventIds', () => {
  it('makes stream ids that only go up, also when the clock steps back', () => {
    const ids = new EventIds(5);
    const made = [ids.next(1000), ids.next(1000), ids.next(999), ids.next(1001)];
    expect(made).toEqual([
      '1000-5',
      `1000-${SALT_SPACE + 5}`,
      `1000-${2 * SALT_SPACE + 5}`,
      '1001-5',
    ]);
    for (const id of made) expect(isEventId(id)).toBe(true);
    const sorted = [...made].sort(compareEventIds);
    expect(sorted).toEqual(made);
  });

  it('two publishers in the same millisecond make different ids', () => {
    expect(new EventIds(1).next(5)).not.toBe(new EventIds(2).next(5));
  });

  it('after observing a later id, makes ids after it', () => {
    const ids = new EventIds(3);
    ids.next(1000);
    ids.observe(`2000-${4 * SALT_SPACE + 9}`);
    const next = ids.next(1500);
    expect(compareEventIds(next, `2000-${4 * SALT_SPACE + 9}`)).toBeGreaterThan(0);
  });

  it('sorts an id that does not parse first', () => {
    expect(compareEventIds('x', '1-0')).toBeLessThan(0);
    expect(isEventId('abc')).toBe(false);
  });
});
