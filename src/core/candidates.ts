/**
 * Which standby to promote (safety rule 4): filters with named rejection reasons, then a
 * total order ending in a tie-breaker, so every sentinel picks the same node from the same
 * inputs whatever order they arrive in (Redis Sentinel's `compareSlavesForPromotion`).
 *
 * Filters, in this order (a node is rejected with the FIRST that fails):
 * 1. `is-primary`       the failed primary itself.
 * 2. `unreachable`      no successful probe within `downAfterMs` (or SDOWN here): promoting a
 *                       node we cannot reach would leave the cluster without a primary.
 * 3. `not-standby`      its last probe says it is not in recovery: it is already a primary
 *                       (split brain) or unknown, never a candidate.
 * 4. `no-failover-tag`  `noFailover` in config: the operator forbade it.
 * 5. `not-sync`         sync mode only: not in `topology.syncStandbys`; an async standby may
 *                       lack acknowledged commits, and sync mode promises zero loss.
 * 6. `lsn-unknown`      no replay LSN known: its lag cannot be bounded.
 * 7. `too-far-behind`   replay lag over `maxLagOnFailoverBytes`, where lag is measured from the
 *                       reference LSN (the highest of the primary's last known current LSN and
 *                       every standby's last known received LSN) to its replayed LSN: a node
 *                       that far behind loses too much or takes too long to finish replay.
 *
 * Order of the rest: highest received LSN first (least data lost), then highest `priority`,
 * then name ascending (code-unit order) as the tie-breaker.
 */
import { compareText } from './compare.js';
import { formatBytes, formatMs } from './format.js';
import type { NodeObservation } from './health.js';

/** What candidate choice needs of a node's config (a NodeSpec fits). */
export interface CandidateNode {
  name: string;
  priority: number;
  noFailover: boolean;
}

export interface CandidateInput {
  nodes: readonly CandidateNode[];
  /** the primary being replaced */
  primary: string;
  observations: Readonly<Record<string, NodeObservation | undefined>>;
  nowMono: number;
  downAfterMs: number;
  maxLagOnFailoverBytes: number;
  mode: 'async' | 'sync';
  syncStandbys: readonly string[];
}

export type RejectionReason =
  | 'is-primary'
  | 'unreachable'
  | 'not-standby'
  | 'no-failover-tag'
  | 'not-sync'
  | 'lsn-unknown'
  | 'too-far-behind';

export interface Rejection {
  node: string;
  reason: RejectionReason;
  evidence: string;
}

export interface RankedCandidate {
  node: string;
  receivedLsn: number;
  replayedLsn: number;
  lagBytes: number;
  priority: number;
}

export interface CandidateChoice {
  chosen?: string;
  /** best first */
  ranked: RankedCandidate[];
  /** sorted by node name */
  rejected: Rejection[];
  /** the LSN lag is measured from; null when no LSN is known at all */
  referenceLsn: number | null;
  evidence: string;
}

/** Received LSN of a standby probe: the receive position, else what the receiver reported, else replay. */
function receivedOf(obs: NodeObservation | undefined): number | undefined {
  const p = obs?.lastOk;
  return p?.receivedLsn ?? p?.walReceiver?.receivedLsn ?? p?.replayedLsn;
}

function referenceLsn(input: CandidateInput): number | null {
  let ref: number | null = null;
  for (const node of input.nodes) {
    const obs = input.observations[node.name];
    const lsn = node.name === input.primary ? obs?.lastOk?.currentLsn : receivedOf(obs);
    if (lsn !== undefined) ref = ref === null ? lsn : Math.max(ref, lsn);
  }
  return ref;
}

function judgeNode(
  node: CandidateNode,
  input: CandidateInput,
  ref: number | null,
): Rejection | RankedCandidate {
  const reject = (reason: RejectionReason, evidence: string): Rejection => ({
    node: node.name,
    reason,
    evidence,
  });
  if (node.name === input.primary) return reject('is-primary', 'the primary being replaced');
  const obs = input.observations[node.name];
  const ok = obs?.lastOk ?? null;
  if (obs === undefined || ok === null) return reject('unreachable', 'never probed successfully');
  const age = input.nowMono - ok.atMono;
  if (obs.verdict.down || age >= input.downAfterMs) {
    return reject(
      'unreachable',
      `last successful probe ${formatMs(age)} ago (downAfter ${formatMs(input.downAfterMs)})`,
    );
  }
  if (ok.role !== 'standby')
    return reject('not-standby', `answers as ${ok.role ?? 'unknown role'}`);
  if (node.noFailover) return reject('no-failover-tag', 'noFailover is set in config');
  if (input.mode === 'sync' && !input.syncStandbys.includes(node.name)) {
    return reject(
      'not-sync',
      `not a recorded synchronous standby (${input.syncStandbys.join(', ') || 'none'})`,
    );
  }
  const replayed = ok.replayedLsn;
  if (replayed === undefined || ref === null) return reject('lsn-unknown', 'replay LSN unknown');
  const lagBytes = Math.max(0, ref - replayed);
  if (lagBytes > input.maxLagOnFailoverBytes) {
    return reject(
      'too-far-behind',
      `replay lag ${formatBytes(lagBytes)} > maxLagOnFailoverBytes ${formatBytes(input.maxLagOnFailoverBytes)}`,
    );
  }
  return {
    node: node.name,
    receivedLsn: receivedOf(obs) ?? replayed,
    replayedLsn: replayed,
    lagBytes,
    priority: node.priority,
  };
}

/** The documented total order: received LSN desc, priority desc, name asc. */
export function compareCandidates(a: RankedCandidate, b: RankedCandidate): number {
  return b.receivedLsn - a.receivedLsn || b.priority - a.priority || compareText(a.node, b.node);
}

export function chooseCandidate(input: CandidateInput): CandidateChoice {
  const ref = referenceLsn(input);
  const ranked: RankedCandidate[] = [];
  const rejected: Rejection[] = [];
  for (const node of input.nodes) {
    const verdict = judgeNode(node, input, ref);
    if ('reason' in verdict) rejected.push(verdict);
    else ranked.push(verdict);
  }
  ranked.sort(compareCandidates);
  rejected.sort((a, b) => compareText(a.node, b.node));
  const best = ranked[0];
  const why = rejected.map((r) => `${r.node}: ${r.reason} (${r.evidence})`).join('; ');
  const evidence =
    best === undefined
      ? `no candidate: ${why || 'no nodes'}`
      : `${best.node}: received ${best.receivedLsn}, lag ${formatBytes(best.lagBytes)}, priority ${best.priority}` +
        (ranked.length > 1
          ? `; then ${ranked
              .slice(1)
              .map((c) => c.node)
              .join(', ')}`
          : '') +
        (why ? `; rejected ${why}` : '');
  return best === undefined
    ? { ranked, rejected, referenceLsn: ref, evidence }
    : { chosen: best.node, ranked, rejected, referenceLsn: ref, evidence };
}
