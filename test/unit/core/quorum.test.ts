import { describe, expect, it } from 'vitest';

import type { Vote } from '../../../src/core/model.js';
import { odown } from '../../../src/core/quorum.js';
import { aVote, EPOCH, NOW_WALL } from '../../builders/index.js';

const base = { primary: 'pg1', epoch: EPOCH, quorum: 2, nowWall: NOW_WALL, voteTtlMs: 5000 };
const s1 = aVote()
  .by('s1')
  .at(NOW_WALL - 200)
  .build();
const s2 = aVote()
  .by('s2')
  .at(NOW_WALL - 800)
  .build();
const s3 = aVote()
  .by('s3')
  .at(NOW_WALL - 1500)
  .build();

describe('odown', () => {
  const cases: {
    name: string;
    votes: Vote[];
    quorum?: number;
    odown: boolean;
    sentinels: string[];
  }[] = [
    {
      name: 'two distinct fresh down votes',
      votes: [s1, s2],
      odown: true,
      sentinels: ['s1', 's2'],
    },
    { name: 'three of three', votes: [s3, s1, s2], odown: true, sentinels: ['s1', 's2', 's3'] },
    {
      name: 'one sentinel cut off: only its own vote',
      votes: [s1],
      odown: false,
      sentinels: ['s1'],
    },
    { name: 'no votes', votes: [], odown: false, sentinels: [] },
    {
      name: 'expired vote ignored',
      votes: [
        s1,
        aVote()
          .by('s2')
          .at(NOW_WALL - 5000)
          .build(),
      ],
      odown: false,
      sentinels: ['s1'],
    },
    {
      name: 'vote about an older epoch ignored',
      votes: [
        s1,
        aVote()
          .by('s2')
          .about('pg1', EPOCH - 1)
          .build(),
      ],
      odown: false,
      sentinels: ['s1'],
    },
    {
      name: 'vote about another primary ignored',
      votes: [s1, aVote().by('s2').about('pg2').build()],
      odown: false,
      sentinels: ['s1'],
    },
    {
      name: 'up votes do not count',
      votes: [s1, aVote().by('s2').up().build()],
      odown: false,
      sentinels: ['s1'],
    },
    {
      name: 'one sentinel voting twice counts once',
      votes: [
        s1,
        aVote()
          .by('s1')
          .at(NOW_WALL - 900)
          .build(),
      ],
      odown: false,
      sentinels: ['s1'],
    },
    {
      name: 'a newer up vote supersedes an older down vote',
      votes: [
        s1,
        s2,
        aVote()
          .by('s2')
          .up()
          .at(NOW_WALL - 100)
          .build(),
      ],
      odown: false,
      sentinels: ['s1'],
    },
    {
      name: 'a newer down vote supersedes an older up vote',
      votes: [
        s1,
        aVote()
          .by('s2')
          .up()
          .at(NOW_WALL - 900)
          .build(),
        s2,
      ],
      odown: true,
      sentinels: ['s1', 's2'],
    },
    {
      name: 'same instant up and down: up wins',
      votes: [s1, s2, aVote().by('s2').up().at(s2.atWall).build()],
      odown: false,
      sentinels: ['s1'],
    },
    {
      name: 'a vote dated a TTL into the future (skewed clock) ignored',
      votes: [
        s1,
        aVote()
          .by('s2')
          .at(NOW_WALL + 5000)
          .build(),
      ],
      odown: false,
      sentinels: ['s1'],
    },
    {
      name: 'quorum 3 needs three',
      votes: [s1, s2],
      quorum: 3,
      odown: false,
      sentinels: ['s1', 's2'],
    },
    {
      name: 'quorum 0 is treated as 1, never as "no votes needed"',
      votes: [],
      quorum: 0,
      odown: false,
      sentinels: [],
    },
  ];

  it.each(cases)('$name', ({ votes, quorum, odown: expected, sentinels }) => {
    const v = odown({ ...base, votes, ...(quorum === undefined ? {} : { quorum }) });
    expect({ odown: v.odown, sentinels: v.sentinels, count: v.count }).toEqual({
      odown: expected,
      sentinels,
      count: sentinels.length,
    });
  });

  it('does not depend on the order of the votes', () => {
    const votes = [
      s1,
      s2,
      s3,
      aVote()
        .by('s2')
        .up()
        .at(NOW_WALL - 100)
        .build(),
      aVote().by('s4').about('pg1', 3).build(),
    ];
    const expected = odown({ ...base, votes });
    expect(odown({ ...base, votes: [...votes].reverse() })).toEqual(expected);
    expect(
      odown({ ...base, votes: [votes[3]!, votes[0]!, votes[4]!, votes[2]!, votes[1]!] }),
    ).toEqual(expected);
  });

  it('names why each ignored vote was ignored', () => {
    const v = odown({
      ...base,
      votes: [
        s1,
        aVote().by('s2').about('pg1', 3).build(),
        aVote()
          .by('s3')
          .at(NOW_WALL - 9000)
          .build(),
      ],
    });
    expect(v.ignored).toEqual([
      { sentinel: 's2', reason: 'other-epoch' },
      { sentinel: 's3', reason: 'expired' },
    ]);
  });

  it('explains itself', () => {
    const v = odown({ ...base, votes: [s2, s1] });
    expect(v.evidence).toBe('2/2 down votes (s1, s2), newest 0.2 s old');
    expect(v.newestAgeMs).toBe(200);
  });
});

describe('odown with a configured sentinel set (sentinel.peers)', () => {
  const stray = aVote()
    .by('host-4242')
    .at(NOW_WALL - 100)
    .build();

  it('ignores a vote from an id outside the set: it never completes a quorum', () => {
    const v = odown({ ...base, votes: [s1, stray], peers: ['s1', 's2', 's3'] });
    expect(v).toMatchObject({ odown: false, count: 1, sentinels: ['s1'] });
    expect(v.ignored).toEqual([{ sentinel: 'host-4242', reason: 'unknown-sentinel' }]);
    expect(v.evidence).toContain('host-4242: unknown-sentinel');
  });

  it('counts the same votes without a set (any id), as before', () => {
    expect(odown({ ...base, votes: [s1, stray] })).toMatchObject({ odown: true, count: 2 });
  });

  it('a restarted sentinel (same stable id, two votes) counts once', () => {
    const again = aVote()
      .by('s1')
      .at(NOW_WALL - 50)
      .build();
    const v = odown({ ...base, votes: [s1, again], peers: ['s1', 's2', 's3'] });
    expect(v).toMatchObject({ odown: false, count: 1 });
  });
});
