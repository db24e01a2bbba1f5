/**
 * Operator-requested role changes (DESIGN.md rule 7, Admin API): switchover to a named standby,
 * failback to the preferred primary, and manual failover. Pure: every function decides on a
 * snapshot (the committed topology and this sentinel's observations) and returns a plan or a
 * refusal with a named reason, so the runtime answers 409 with a message that says why.
 *
 * A switchover needs, at the moment it starts:
 * - a settled topology (`ok`): a second role change would fight over the epoch;
 * - a healthy primary (its latest probe answered as primary) with an agent that can stop it
 *   cleanly: without a clean stop its final LSN is unknown and rule 7 cannot hold;
 * - a target that is a configured standby whose latest probe succeeded, whose WAL receiver is
 *   streaming from the primary and heard from it within `downAfterMs`, and whose replay lag is
 *   within `maxLagOnFailoverBytes` (it must replay the rest within `switchoverTimeoutMs`).
 * A paused cluster may be switched over: operators switch over in maintenance mode.
 *
 * A manual failover is a switchover when the primary is healthy, and a forced failover (the
 * failover machine, candidate rules 2 and 4, no ODOWN quorum) when this sentinel sees it down.
 */
import { type CandidateChoice, chooseCandidate } from './candidates.js';
import { formatBytes, formatMs } from './format.js';
import type { NodeObservation } from './health.js';
import type { Topology } from './model.js';
import { standbyStillStreaming } from './rules.js';
import type { ClusterSpec, Timing } from './spec.js';

export type RefusalReason =
  | 'no-topology'
  | 'topology-not-ok'
  | 'unknown-target'
  | 'target-is-primary'
  | 'target-unreachable'
  | 'target-not-standby'
  | 'target-not-streaming'
  | 'target-lsn-unknown'
  | 'target-too-far-behind'
  | 'primary-down'
  | 'primary-no-agent'
  | 'primary-state-unclear'
  | 'no-failback-target'
  | 'no-candidate'
  | 'standby-still-streaming';

export interface Refusal {
  ok: false;
  reason: RefusalReason;
  message: string;
}

export interface SwitchoverPlan {
  ok: true;
  kind: 'switchover';
  from: string;
  to: string;
  epoch: number;
  evidence: string;
}

export interface ForcedFailoverPlan {
  ok: true;
  kind: 'failover';
  from: string;
  to: string;
  epoch: number;
  evidence: string;
  candidates: CandidateChoice;
}

export interface PlanInput {
  cluster: ClusterSpec;
  timing: Pick<Timing, 'downAfterMs'>;
  topology: Topology | null;
  observations: Readonly<Record<string, NodeObservation | undefined>>;
  nowMono: number;
}

const refuse = (reason: RefusalReason, message: string): Refusal => ({
  ok: false,
  reason,
  message,
});

/** The committed topology, if a role change may start from it. */
function settled(input: PlanInput, allowDegraded: boolean): Topology | Refusal {
  const t = input.topology;
  if (t === null) return refuse('no-topology', 'no topology committed yet: wait for the sentinels');
  if (t.state === 'ok' || (allowDegraded && t.state === 'degraded')) return t;
  return refuse(
    'topology-not-ok',
    `topology epoch ${t.epoch} is ${t.state}: wait until it is ok (pgvigil status)`,
  );
}

function primaryHealthy(input: PlanInput, primary: string): boolean {
  const last = input.observations[primary]?.last;
  return last?.ok === true && last.role === 'primary';
}

function describeLast(input: PlanInput, node: string): string {
  const obs = input.observations[node];
  const last = obs?.last;
  if (!obs || !last) return 'not probed yet';
  if (!last.ok)
    return `last probe ${last.failure ?? 'failed'}${last.message ? `: ${last.message}` : ''}`;
  return `answers as ${last.role ?? 'unknown role'}`;
}

/** Rule 7 preconditions of a switchover from the current primary to `to`. */
export function planSwitchover(input: PlanInput, to: string): SwitchoverPlan | Refusal {
  const t = settled(input, false);
  if ('ok' in t) return t;
  const from = t.primary;
  const nodes = input.cluster.nodes;
  const target = nodes.find((n) => n.name === to);
  if (!target)
    return refuse(
      'unknown-target',
      `unknown node ${to}: cluster ${input.cluster.name} has ${nodes.map((n) => n.name).join(', ')}`,
    );
  if (to === from)
    return refuse('target-is-primary', `${to} is already the primary (epoch ${t.epoch})`);
  if (!primaryHealthy(input, from))
    return refuse(
      'primary-down',
      `primary ${from} is not healthy (${describeLast(input, from)}): a switchover needs a running primary; use failover to force one`,
    );
  const primaryNode = nodes.find((n) => n.name === from);
  if (!primaryNode?.agent)
    return refuse(
      'primary-no-agent',
      `primary ${from} has no agent (nodes[].agent.url): a switchover needs its agent to stop it cleanly`,
    );
  const obs = input.observations[to];
  const last = obs?.last;
  if (!obs || !last || !last.ok || obs.verdict.down)
    return refuse('target-unreachable', `${to} is not reachable (${describeLast(input, to)})`);
  if (last.role !== 'standby')
    return refuse('target-not-standby', `${to} is not a standby (${describeLast(input, to)})`);
  const rx = last.walReceiver;
  const age = rx ? rx.lastMsgAgeMs + Math.max(0, input.nowMono - last.atMono) : Infinity;
  if (!rx || rx.status !== 'streaming' || age >= input.timing.downAfterMs)
    return refuse(
      'target-not-streaming',
      `${to} is not streaming from ${from} (${rx ? `receiver ${rx.status}, last message ${formatMs(age)} ago` : 'no WAL receiver'}): it has not rejoined yet`,
    );
  const cascading = nodes.find(
    (n) => n.name !== from && n.host === rx.senderHost && n.port === rx.senderPort,
  );
  if (cascading)
    return refuse(
      'target-not-streaming',
      `${to} streams from ${cascading.name}, not from the primary ${from}`,
    );
  const primaryLsn = input.observations[from]?.lastOk?.currentLsn;
  const replayed = last.replayedLsn;
  if (primaryLsn === undefined || replayed === undefined)
    return refuse('target-lsn-unknown', `replay lag of ${to} unknown (LSNs not probed yet)`);
  const lag = Math.max(0, primaryLsn - replayed);
  if (lag > input.cluster.maxLagOnFailoverBytes)
    return refuse(
      'target-too-far-behind',
      `${to} replay lag ${formatBytes(lag)} > maxLagOnFailoverBytes ${formatBytes(input.cluster.maxLagOnFailoverBytes)}: wait until it catches up`,
    );
  return {
    ok: true,
    kind: 'switchover',
    from,
    to,
    epoch: t.epoch,
    evidence: `${to} streaming from ${from}, replay lag ${formatBytes(lag)}`,
  };
}

/** Failback: back to `preferredPrimary`, else the primary before the last role change. */
export function planFailback(input: PlanInput): SwitchoverPlan | Refusal {
  const t = settled(input, false);
  if ('ok' in t) return t;
  const to = input.cluster.preferredPrimary ?? t.previousPrimary;
  if (to === undefined)
    return refuse(
      'no-failback-target',
      'no failback target: set preferredPrimary in the cluster config (no previous primary recorded)',
    );
  if (to === t.primary)
    return refuse('target-is-primary', `${to} is already the primary (epoch ${t.epoch})`);
  const plan = planSwitchover(input, to);
  if (plan.ok) return plan;
  return refuse(
    plan.reason,
    `cannot fail back to ${to}: ${plan.message}${plan.reason.startsWith('target-') ? ' (it must be a healthy, caught-up standby first)' : ''}`,
  );
}

function candidateChoice(input: PlanInput, t: Topology): CandidateChoice {
  return chooseCandidate({
    nodes: input.cluster.nodes,
    primary: t.primary,
    observations: input.observations,
    nowMono: input.nowMono,
    downAfterMs: input.timing.downAfterMs,
    maxLagOnFailoverBytes: input.cluster.maxLagOnFailoverBytes,
    mode: input.cluster.replication.mode,
    syncStandbys: t.syncStandbys,
  });
}

/**
 * Manual failover: a switchover when the primary is healthy (to `to`, else the best candidate);
 * a forced failover when this sentinel sees it down (rule 2 and rule 4 still apply, only the
 * ODOWN quorum is waived); a refusal while it is failing but not down yet.
 */
export function planManualFailover(
  input: PlanInput,
  to?: string,
): SwitchoverPlan | ForcedFailoverPlan | Refusal {
  const t = settled(input, true);
  if ('ok' in t) return t;
  const from = t.primary;
  if (to !== undefined && !input.cluster.nodes.some((n) => n.name === to))
    return planSwitchover(input, to); // the unknown-target refusal
  if (to === from)
    return refuse('target-is-primary', `${to} is already the primary (epoch ${t.epoch})`);
  if (primaryHealthy(input, from)) {
    if (t.state !== 'ok') return settled(input, false) as Refusal;
    if (to !== undefined) return planSwitchover(input, to);
    const choice = candidateChoice(input, t);
    if (choice.chosen === undefined) return refuse('no-candidate', choice.evidence);
    return planSwitchover(input, choice.chosen);
  }
  const verdict = input.observations[from]?.verdict;
  if (!verdict?.down)
    return refuse(
      'primary-state-unclear',
      `primary ${from} does not answer (${describeLast(input, from)}) but is not down yet: retry in a moment`,
    );
  const streaming = standbyStillStreaming({
    primary: from,
    nodes: input.cluster.nodes,
    observations: input.observations,
    nowMono: input.nowMono,
    downAfterMs: input.timing.downAfterMs,
  });
  if (streaming.holds)
    return refuse(
      'standby-still-streaming',
      `${streaming.evidence}: ${from} is alive, the sentinels are cut off from it; not failing over`,
    );
  const choice = candidateChoice(input, t);
  const pick = to ?? choice.chosen;
  if (pick === undefined) return refuse('no-candidate', choice.evidence);
  if (!choice.ranked.some((c) => c.node === pick)) {
    const r = choice.rejected.find((x) => x.node === pick);
    return refuse(
      'no-candidate',
      `${pick} cannot be promoted: ${r ? `${r.reason} (${r.evidence})` : choice.evidence}`,
    );
  }
  return {
    ok: true,
    kind: 'failover',
    from,
    to: pick,
    epoch: t.epoch,
    evidence: `manual failover: ${from} down here (${verdict.evidence}); candidate ${choice.evidence}`,
    candidates: choice,
  };
}

export {
  replayedPast,
  restoredTopology,
  switchedTopology,
  switchingTopology,
} from './switchover/topology.js';
