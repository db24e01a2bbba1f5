/**
 * ODOWN: does a quorum of distinct sentinels see the primary down? (Redis Sentinel's
 * `sentinelCheckObjectivelyDown`.) Safety rule 1: no automatic failover without it.
 *
 * A vote counts only if it is about this exact primary AND this epoch (a vote about the
 * primary of an older topology says nothing about the current one), is fresher than
 * `voteTtlMs`, and is its sentinel's newest opinion. Each sentinel counts once, and only a
 * sentinel of the configured set (`peers`, when given) counts at all: with stable ids
 * (config/sentinel-id.ts) a restarted sentinel replaces its own vote instead of adding one.
 */
import { compareText } from './compare.js';
import { formatMs } from './format.js';
import type { Vote } from './model.js';

export interface OdownInput {
  votes: readonly Vote[];
  primary: string;
  epoch: number;
  quorum: number;
  nowWall: number;
  voteTtlMs: number;
  /** the configured sentinel set: a vote from any other id is ignored (empty or absent: any) */
  peers?: readonly string[];
}

export type VoteIgnoredReason =
  | 'other-primary'
  | 'other-epoch'
  | 'expired'
  | 'future-dated' // dated more than a TTL ahead: a skewed clock would keep it alive forever
  | 'superseded' // an older vote of a sentinel that has a newer one
  | 'unknown-sentinel' // an id outside sentinel.peers (a stray or a renamed sentinel)
  | 'not-down';

export interface OdownVerdict {
  odown: boolean;
  count: number;
  quorum: number;
  /** sentinels whose down vote counted, sorted */
  sentinels: string[];
  ignored: { sentinel: string; reason: VoteIgnoredReason }[];
  /** age of the newest counted vote */
  newestAgeMs: number | null;
  evidence: string;
}

function ignoreReason(v: Vote, input: OdownInput): VoteIgnoredReason | null {
  const peers = input.peers ?? [];
  if (peers.length > 0 && !peers.includes(v.sentinel)) return 'unknown-sentinel';
  if (v.primary !== input.primary) return 'other-primary';
  if (v.epoch !== input.epoch) return 'other-epoch';
  const age = input.nowWall - v.atWall;
  if (age >= input.voteTtlMs) return 'expired';
  if (-age >= input.voteTtlMs) return 'future-dated';
  return null;
}

/** Newer wins; on a tie `down: false` wins (the safe side), so the result is order-free. */
function supersedes(a: Vote, b: Vote): boolean {
  return a.atWall > b.atWall || (a.atWall === b.atWall && !a.down && b.down);
}

export function odown(input: OdownInput): OdownVerdict {
  // A quorum below 1 would declare ODOWN on no votes at all; config refuses it, core too.
  const quorum = Math.max(1, input.quorum);
  const ignored: OdownVerdict['ignored'] = [];
  const newest = new Map<string, Vote>();
  for (const v of input.votes) {
    const reason = ignoreReason(v, input);
    if (reason !== null) {
      ignored.push({ sentinel: v.sentinel, reason });
      continue;
    }
    const held = newest.get(v.sentinel);
    if (held === undefined) newest.set(v.sentinel, v);
    else {
      ignored.push({ sentinel: v.sentinel, reason: 'superseded' });
      if (supersedes(v, held)) newest.set(v.sentinel, v);
    }
  }
  const counted: Vote[] = [];
  for (const v of newest.values()) {
    if (v.down) counted.push(v);
    else ignored.push({ sentinel: v.sentinel, reason: 'not-down' });
  }
  const sentinels = counted.map((v) => v.sentinel).sort();
  ignored.sort((a, b) => compareText(a.sentinel, b.sentinel) || compareText(a.reason, b.reason));
  const newestAt = counted.reduce<number | null>(
    (m, v) => (m === null ? v.atWall : Math.max(m, v.atWall)),
    null,
  );
  const newestAgeMs = newestAt === null ? null : Math.max(0, input.nowWall - newestAt);
  const count = counted.length;
  const ageText = newestAgeMs === null ? '' : `, newest ${formatMs(newestAgeMs)} old`;
  const who = count === 0 ? '' : ` (${sentinels.join(', ')})`;
  const skipped =
    ignored.length === 0
      ? ''
      : `; ignored ${ignored.map((i) => `${i.sentinel}: ${i.reason}`).join(', ')}`;
  return {
    odown: count >= quorum,
    count,
    quorum,
    sentinels,
    ignored,
    newestAgeMs,
    evidence: `${count}/${quorum} down votes${who}${ageText}${skipped}`,
  };
}
