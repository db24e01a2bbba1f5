/**
 * The per-tick, per-cluster decision of one sentinel, made on a snapshot with no I/O.
 *
 * It always computes this sentinel's own vote about the current primary (so the others can
 * count it even when we do not act), then runs the guards below in order; the first that
 * holds decides, and its reason code is what tests and status assert on. Only when every
 * guard passes is the decision `failover`, with the chosen candidate.
 *
 * `kind`: `failover` = start one now; `vote-down` = not acting, but our vote says the primary
 * is down; `observe` = anything else.
 */
import { type CandidateChoice, chooseCandidate } from './candidates.js';
import type { PgvigilEvent } from './events.js';
import { formatMs } from './format.js';
import type { NodeObservation, SdownVerdict } from './health.js';
import type { Topology, Vote } from './model.js';
import { odown, type OdownVerdict } from './quorum.js';
import { standbyStillStreaming } from './rules.js';
import type { ClusterSpec, Timing } from './spec.js';

export interface DecisionInput {
  cluster: ClusterSpec;
  timing: Timing;
  sentinelId: string;
  nowMono: number;
  nowWall: number;
  /** the committed topology read from a Redis majority; null when none is stored yet */
  topology: Topology | null;
  coordination: 'majority' | 'no-majority';
  paused: boolean;
  tilt: boolean;
  /** holds the cluster's leader lock this tick */
  leader: boolean;
  /** this sentinel's observation of each node, by name (see `judge` in health.ts) */
  health: Readonly<Record<string, NodeObservation | undefined>>;
  /** votes read from Redis (ours included or not: ours is replaced by the one computed now) */
  votes: readonly Vote[];
  /** the configured sentinel set: votes of any other id do not count (empty or absent: any) */
  peers?: readonly string[];
  /**
   * TEST-ONLY (commands/test-unsafe.ts, PGVIGIL_TEST_UNSAFE=skip-rule2): rule 2 is not applied,
   * so the fault runner can show that it then fails over a primary that is alive
   */
  unsafeSkipRule2?: boolean;
}

export type DecisionReason =
  | 'no-topology'
  | 'no-coordination-majority'
  | 'tilt'
  | 'paused'
  | 'failover-in-progress'
  | 'not-leader'
  | 'primary-up-here'
  | 'no-quorum'
  | 'cooldown'
  | 'standby-still-streaming'
  | 'no-candidate'
  | 'primary-odown';

export interface Decision {
  kind: 'observe' | 'vote-down' | 'failover';
  reason: DecisionReason;
  evidence: string;
  /** what to publish as this sentinel's vote; null without a topology */
  vote: Vote | null;
  /** the primary being replaced and the epoch this decision was made under */
  from?: string;
  epoch?: number;
  candidate?: string;
  /** present once the guards got that far */
  odown?: OdownVerdict;
  candidates?: CandidateChoice;
  /** rule 2 standby, when that guard stopped the failover */
  streamingStandby?: string;
  events: PgvigilEvent[];
}

function primaryVerdict(input: DecisionInput, primary: string): SdownVerdict {
  return (
    input.health[primary]?.verdict ?? {
      node: primary,
      down: false,
      reason: 'never-probed',
      evidence: 'no observation of the primary',
    }
  );
}

function ownVote(input: DecisionInput, topology: Topology, verdict: SdownVerdict): Vote {
  // In TILT our timestamps are suspect (we were paused, not the primary): vote "not down",
  // as Redis Sentinel answers is-master-down-by-addr with 0 while in TILT.
  const down = verdict.down && !input.tilt;
  return {
    sentinel: input.sentinelId,
    epoch: topology.epoch,
    primary: topology.primary,
    down,
    reason: input.tilt && verdict.down ? 'tilt' : verdict.reason,
    atWall: input.nowWall,
  };
}

type Hold = (reason: DecisionReason, evidence: string, extra?: Partial<Decision>) => Decision;

export function decide(input: DecisionInput): Decision {
  const { topology } = input;
  // Without a committed topology we do not even know which node is the primary.
  if (topology === null) {
    return {
      kind: 'observe',
      reason: 'no-topology',
      evidence: 'no topology stored yet',
      vote: null,
      events: [],
    };
  }
  const from = topology.primary;
  const epoch = topology.epoch;
  const here = primaryVerdict(input, from);
  const vote = ownVote(input, topology, here);
  const hold: Hold = (reason, evidence, extra = {}) => ({
    kind: vote.down ? 'vote-down' : 'observe',
    reason,
    evidence,
    vote,
    from,
    epoch,
    events: [],
    ...extra,
  });
  return standingGuards(input, topology, here, hold) ?? clusterGuards(input, topology, vote, hold);
}

/**
 * The guards on this sentinel's own standing: coordination, TILT, pause, a failover already
 * running, the leader lock, its own view of the primary. The first that holds decides; null
 * when none does.
 */
function standingGuards(
  input: DecisionInput,
  topology: Topology,
  here: SdownVerdict,
  hold: Hold,
): Decision | null {
  const from = topology.primary;
  // A minority partition must never fail over: the majority side may be doing it (rule 3).
  if (input.coordination === 'no-majority') {
    return {
      ...hold('no-coordination-majority', 'fewer than a majority of Redis servers answered'),
      kind: 'observe',
    };
  }
  // After a pause our view is stale: a false SDOWN would fail over a healthy primary.
  if (input.tilt) return hold('tilt', 'in TILT: observing only');
  // The operator asked for no automatic failover (maintenance).
  if (input.paused) return hold('paused', 'cluster paused (maintenance mode)');
  // A failover or switchover is already running: a second one would fight over the epoch.
  // (`degraded` is settled: a failover whose promotion was not confirmed must not block the
  // next one forever, so it is not in this list.)
  if (topology.state === 'failing-over' || topology.state === 'switching-over')
    return hold('failover-in-progress', `topology state is ${topology.state}`);
  // Only the lock holder acts, so two sentinels do not race for the same epoch.
  if (!input.leader) return hold('not-leader', `${from}: ${here.reason}`);
  // The leader must see the primary down itself, not only trust others' votes.
  if (!here.down) return hold('primary-up-here', `${from}: ${here.reason}: ${here.evidence}`);
  return null;
}

/**
 * The guards on the cluster's evidence, in order: a quorum of votes (rule 1), the cooldown
 * (rule 6), a standby still streaming (rule 2), a candidate (rule 4). `failover` when all pass.
 */
function clusterGuards(input: DecisionInput, topology: Topology, vote: Vote, hold: Hold): Decision {
  const { cluster, timing } = input;
  const from = topology.primary;
  const epoch = topology.epoch;
  // Rule 1: a quorum of distinct sentinels, counting our current vote in place of our old one.
  const votes = [...input.votes.filter((v) => v.sentinel !== input.sentinelId), vote];
  const verdict = odown({
    votes,
    primary: from,
    epoch,
    quorum: cluster.quorum,
    nowWall: input.nowWall,
    voteTtlMs: timing.voteTtlMs,
    peers: input.peers ?? [],
  });
  // One sentinel cut off from the primary alone must not fail it over.
  if (!verdict.odown) return hold('no-quorum', verdict.evidence, { odown: verdict });

  // Rule 6: a flapping cluster must not ping-pong between primaries.
  const last = topology.lastFailoverWall;
  if (last !== undefined && input.nowWall - last < timing.cooldownMs) {
    const left = timing.cooldownMs - (input.nowWall - last);
    return hold(
      'cooldown',
      `last automatic failover ${formatMs(input.nowWall - last)} ago, cooldown ${formatMs(left)} left`,
      { odown: verdict },
    );
  }

  // Rule 2: a standby still hears from the primary, so the primary is alive and we are cut off.
  const streaming = standbyStillStreaming({
    primary: from,
    nodes: cluster.nodes,
    observations: input.health,
    nowMono: input.nowMono,
    downAfterMs: timing.downAfterMs,
  });
  // Rule 2 tells "the primary died" from "we are cut off from it". It does not apply when we
  // did reach the primary and it could not commit the heartbeat: that primary is alive but
  // useless (disk full, stuck I/O), and its walsender may well keep streaming.
  const unwritable = input.health[from]?.last?.failure === 'write-failed';
  if (streaming.holds && !unwritable && input.unsafeSkipRule2 !== true) {
    return hold('standby-still-streaming', streaming.evidence, {
      odown: verdict,
      streamingStandby: streaming.standby,
    });
  }

  // Rule 4: promoting a lagging, unreachable or forbidden node is worse than waiting.
  const candidates = chooseCandidate({
    nodes: cluster.nodes,
    primary: from,
    observations: input.health,
    nowMono: input.nowMono,
    downAfterMs: timing.downAfterMs,
    maxLagOnFailoverBytes: cluster.maxLagOnFailoverBytes,
    mode: cluster.replication.mode,
    syncStandbys: topology.syncStandbys,
  });
  if (candidates.chosen === undefined) {
    return hold('no-candidate', candidates.evidence, { odown: verdict, candidates });
  }

  return failover(input, topology, vote, verdict, candidates);
}

/** Every guard passed: fail over to the chosen candidate, announcing primary-odown. */
function failover(
  input: DecisionInput,
  topology: Topology,
  vote: Vote,
  verdict: OdownVerdict,
  candidates: CandidateChoice,
): Decision {
  const from = topology.primary;
  const epoch = topology.epoch;
  return {
    kind: 'failover',
    reason: 'primary-odown',
    evidence: `${from} down: ${verdict.evidence}; candidate ${candidates.evidence}`,
    vote,
    from,
    epoch,
    candidate: candidates.chosen,
    odown: verdict,
    candidates,
    events: [
      {
        type: 'primary-odown',
        cluster: input.cluster.name,
        epoch,
        primary: from,
        votes: verdict.count,
        quorum: verdict.quorum,
        sentinels: verdict.sentinels,
      },
    ],
  };
}
