/**
 * The node agent's per-loop decision (DESIGN.md rule 5 and the Processes table), pure.
 *
 * Guards in order, the first that holds decides:
 * 1. No topology: wait (never start or touch postgres without knowing who the primary is).
 * 2. Running as a primary:
 *    - the topology names another node: a returning old primary. Fence at once; rejoin as a
 *      standby when the topology is fresh (a majority answered) and no switchover runs.
 *    - the topology names us: confirmed this loop -> unfence if fenced (outside a switchover);
 *      not confirmed for `leaseMs` -> fence ourselves (we may be the isolated side of a
 *      partition while the majority fails over).
 * 3. A switchover runs: hands off (the sentinel leader drives it through the agent API).
 *    A failover runs (`failing-over`): wait until it settles (the new primary may not be
 *    promoted yet: rewinding from it or following it now would fail or diverge).
 * 4. Running, SQL silent: wait (starting, recovering, or hung).
 * 5. Running as a standby: follow the topology's primary (repoint when primary_conninfo or
 *    the slot name is wrong).
 * 6. Stopped, another node is the primary: rejoin (pg_rewind first unless it was a standby).
 * 7. Stopped, we are the primary (a crash): restart as primary ONLY on a fresh leader
 *    verdict for this epoch saying no failover will happen; otherwise wait. A failover that
 *    commits moves the epoch on, and guard 6 then makes us a standby.
 */
import { formatMs } from '../format.js';
import type { Topology, TopologyNode } from '../model.js';
import type { AgentDecision, AgentReason, AgentSnapshot, Verdict } from './model.js';

/** A verdict older than this says nothing about now (the leader writes one every tick). */
export const VERDICT_FRESH_MS = 3000;
/** No quorum held this many downAfterMs: the sentinels cannot fail over, restart is safe. */
export const NO_QUORUM_FACTOR = 2;

const hold = (kind: 'none' | 'wait', reason: AgentReason, evidence: string): AgentDecision => ({
  kind,
  reason,
  evidence,
});

/** The crashed-primary guard needs the leader's verdict: the runtime reads it only then. */
export function needsVerdict(s: Omit<AgentSnapshot, 'verdict'>): boolean {
  const t = s.topology;
  return (
    t !== null &&
    s.coordinationOk &&
    t.state !== 'switching-over' &&
    t.primary === s.node &&
    !s.local.running &&
    !s.local.standbySignal
  );
}

export function decideAgent(s: AgentSnapshot): AgentDecision {
  const t = s.topology;
  const l = s.local;
  if (t === null) return hold('wait', 'no-topology', 'no topology read yet');
  if (!t.nodes.some((n) => n.name === s.node))
    return hold('none', 'not-in-topology', `${s.node} is not a node of epoch ${t.epoch}`);
  const epoch = t.epoch;
  const here = t.primary === s.node;

  if (l.running && l.reachable && l.role === 'primary') {
    if (!here) return demotedPrimary(s, t);
    const sinceConfirm = s.nowMono - s.lastConfirmMono;
    if (!s.coordinationOk) {
      if (sinceConfirm < s.timing.leaseMs)
        return hold('none', 'lease-held', `unconfirmed for ${formatMs(sinceConfirm)}`);
      if (l.fenced)
        return hold(
          'wait',
          'fenced-lease-lost',
          `fenced, unconfirmed for ${formatMs(sinceConfirm)}`,
        );
      return {
        kind: 'fence',
        reason: 'lease-expired',
        epoch,
        evidence: `no Redis majority confirmed ${s.node} as primary of epoch ${epoch} for ${formatMs(sinceConfirm)} (lease ${formatMs(s.timing.leaseMs)})`,
      };
    }
    if (t.state === 'switching-over')
      return hold('none', 'switching-over', `primary of epoch ${epoch}, switchover under way`);
    if (l.fenced)
      return {
        kind: 'unfence',
        reason: 'lease-confirmed',
        epoch,
        evidence: `a Redis majority confirms ${s.node} as primary of epoch ${epoch}`,
      };
    return hold('none', 'primary-confirmed', `primary of epoch ${epoch}`);
  }

  if (t.state === 'switching-over')
    return hold('none', 'switching-over', `switchover of epoch ${epoch}: the leader drives it`);
  if (t.state === 'failing-over')
    return hold(
      'wait',
      'failover-in-progress',
      `failover to ${t.primary} (epoch ${epoch}) not settled`,
    );
  if (l.running && !l.reachable)
    return hold('wait', 'unreachable', `postgres runs but does not answer: ${l.error ?? '?'}`);
  if (l.running) return runningStandby(s, t);
  if (here) return stoppedPrimary(s, t);
  if (!s.coordinationOk)
    return hold('wait', 'no-coordination', 'no Redis majority: the topology may be stale');
  const wasStandby = l.standbySignal;
  return {
    kind: 'rejoin',
    reason: wasStandby ? 'stopped-standby' : 'stopped-old-primary',
    epoch,
    primary: t.primary,
    fenceFirst: false,
    rewind: !wasStandby,
    evidence: `stopped${wasStandby ? ' standby' : ' (no standby.signal)'}, ${t.primary} is the primary of epoch ${epoch}`,
  };
}

function demotedPrimary(s: AgentSnapshot, t: Topology): AgentDecision {
  const why = `runs as primary but ${t.primary} is the primary of epoch ${t.epoch}`;
  if (s.coordinationOk && t.state !== 'switching-over' && t.state !== 'failing-over')
    return {
      kind: 'rejoin',
      reason: 'demoted',
      epoch: t.epoch,
      primary: t.primary,
      fenceFirst: !s.local.fenced,
      rewind: true,
      evidence: why,
    };
  // A committed epoch never goes back: even a stale read proves we were demoted. Fence now,
  // rejoin once the topology is fresh and settled.
  if (s.local.fenced) return hold('wait', 'demoted-fenced', `${why}; fenced, rejoin later`);
  return { kind: 'fence', reason: 'demoted', epoch: t.epoch, evidence: why };
}

function sameEndpoint(
  a: { host: string; port: number } | null,
  b: TopologyNode | undefined,
): boolean {
  return a !== null && b !== undefined && a.host === b.host && a.port === b.port;
}

function runningStandby(s: AgentSnapshot, t: Topology): AgentDecision {
  if (t.primary === s.node)
    return hold('none', 'awaiting-promotion', `standby named primary of epoch ${t.epoch}`);
  if (!s.coordinationOk)
    return hold('none', 'standby-stale-topology', 'no Redis majority: not repointing');
  const primary = t.nodes.find((n) => n.name === t.primary);
  const up = s.local.upstream;
  if (!sameEndpoint(up, primary) || s.local.slot !== s.node)
    return {
      kind: 'repoint',
      reason: 'wrong-upstream',
      epoch: t.epoch,
      primary: t.primary,
      evidence: `follows ${up ? `${up.host}:${up.port}` : 'nothing'} (slot ${s.local.slot ?? 'none'}), ${t.primary} is ${primary ? `${primary.host}:${primary.port}` : '?'}`,
    };
  return hold('none', 'standby-ok', `standby of ${t.primary}`);
}

function stoppedPrimary(s: AgentSnapshot, t: Topology): AgentDecision {
  if (s.local.standbySignal)
    // In recovery it cannot take writes: starting it is safe, the sentinels may promote it.
    return {
      kind: 'start',
      reason: 'standby-as-is',
      epoch: t.epoch,
      as: 'standby',
      evidence: `stopped with standby.signal while named primary of epoch ${t.epoch}`,
    };
  if (!s.coordinationOk)
    return hold('wait', 'no-coordination', 'crashed primary: no Redis majority to ask');
  const v = s.verdict;
  const why = verdictAllowsRestart(v, s, t);
  if (why !== null) return hold('wait', why.reason, `crashed primary: ${why.evidence}`);
  return {
    kind: 'start',
    reason: 'no-failover-verdict',
    epoch: t.epoch,
    as: 'primary',
    evidence: `crashed primary, leader verdict ${v!.reason} since ${formatMs(s.nowWall - v!.sinceWall)}: no failover will happen`,
  };
}

/** null when the verdict allows a restart as primary; else why not. */
function verdictAllowsRestart(
  v: Verdict | null,
  s: AgentSnapshot,
  t: Topology,
): { reason: AgentReason; evidence: string } | null {
  if (v === null) return { reason: 'verdict-missing', evidence: 'no leader verdict stored' };
  const age = s.nowWall - v.atWall;
  if (age > VERDICT_FRESH_MS)
    return { reason: 'verdict-stale', evidence: `leader verdict is ${formatMs(age)} old` };
  if (v.epoch !== t.epoch || v.primary !== s.node)
    return {
      reason: 'verdict-other-epoch',
      evidence: `verdict is about ${v.primary} at epoch ${v.epoch}, topology is epoch ${t.epoch}`,
    };
  if (v.reason === 'no-candidate' || v.reason === 'paused') return null;
  const held = s.nowWall - v.sinceWall;
  const needed = NO_QUORUM_FACTOR * s.timing.downAfterMs;
  if (v.reason === 'no-quorum') {
    if (held >= needed) return null;
    return {
      reason: 'no-quorum-too-short',
      evidence: `no quorum for ${formatMs(held)} of the ${formatMs(needed)} needed`,
    };
  }
  return {
    reason: 'failover-possible',
    evidence: `leader verdict ${v.kind}/${v.reason}: a failover may be under way`,
  };
}
