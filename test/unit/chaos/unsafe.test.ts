/**
 * The test-only PGVIGIL_TEST_UNSAFE switches (src/commands/test-unsafe.ts): parsed in one place,
 * a bad value refused in one line; `skip-rule2` reaches decide() and lifts exactly rule 2.
 */
import { describe, expect, it } from 'vitest';

import { testUnsafe } from '../../../src/commands/test-unsafe.js';
import { decide } from '../../../src/core/decide.js';
import { aCluster, aProbe } from '../../builders/index.js';

describe('PGVIGIL_TEST_UNSAFE', () => {
  it('is empty unless set, parses both switches, refuses an unknown one', () => {
    expect(testUnsafe({}).size).toBe(0);
    expect(testUnsafe({ PGVIGIL_TEST_UNSAFE: '' }).size).toBe(0);
    expect([...testUnsafe({ PGVIGIL_TEST_UNSAFE: 'skip-rule2, skip-lease' })]).toEqual([
      'skip-rule2',
      'skip-lease',
    ]);
    expect(() => testUnsafe({ PGVIGIL_TEST_UNSAFE: 'skip-rule3' })).toThrow(
      /unknown switch skip-rule3 \(test-only/,
    );
  });

  it('skip-rule2 turns the standby-still-streaming hold into a failover, nothing else', () => {
    const input = aCluster()
      .withPrimaryDown()
      .withProbes('pg3', aProbe('pg3').standby().streaming(200).build())
      .build();
    expect(decide(input).reason).toBe('standby-still-streaming');
    expect(decide({ ...input, unsafeSkipRule2: true }).kind).toBe('failover');
    const quorumless = aCluster().withPrimaryDown().withClusterConfig({ quorum: 3 }).build();
    expect(decide({ ...quorumless, unsafeSkipRule2: true }).reason).toBe('no-quorum');
  });
});
