/**
 * What the agent API answers, computed from the loop's last observation (no extra queries:
 * HAProxy-style checks hit these every few seconds and must cost nothing).
 */
import type { AgentDecision, LocalObservation, Verdict } from '../../core/agent/model.js';
import type { Topology } from '../../core/model.js';

export interface Check {
  ok: boolean;
  /** why, in one line */
  reason: string;
  role: 'primary' | 'standby' | null;
  lagBytes?: number | null;
}

export function primaryCheck(
  node: string,
  loopHealthy: boolean,
  l: LocalObservation | null,
  t: Topology | null,
  lease: { unconfirmedMs: number; leaseMs: number },
): Check {
  const role = l?.role ?? null;
  const no = (reason: string): Check => ({ ok: false, reason, role });
  if (!loopHealthy) return no('agent loop stalled');
  if (!l?.running) return no('postgres is not running');
  if (!l.reachable) return no(`postgres does not answer: ${l.error ?? '?'}`);
  if (l.role !== 'primary') return no('in recovery (a standby)');
  if (l.fenced) return no('fenced (read-only)');
  if (t?.primary !== node)
    return no(`the topology names ${t?.primary ?? 'no node'} primary (epoch ${t?.epoch ?? 0})`);
  // the agent fences it at the next loop: stop sending traffic now
  if (lease.unconfirmedMs >= lease.leaseMs)
    return no(`not confirmed by a Redis majority for ${lease.unconfirmedMs} ms (lease expired)`);
  return { ok: true, reason: `primary of epoch ${t.epoch}`, role };
}

/** Replay lag: the sender's WAL end last reported to our receiver minus what we replayed. */
export function lagOf(l: LocalObservation): number | null {
  if (l.senderEndLsn === null || l.replayedLsn === null) return null;
  return Math.max(0, l.senderEndLsn - l.replayedLsn);
}

export function replicaCheck(
  loopHealthy: boolean,
  l: LocalObservation | null,
  maxLagBytes: number | undefined,
): Check {
  const role = l?.role ?? null;
  const no = (reason: string, lagBytes?: number | null): Check => ({
    ok: false,
    reason,
    role,
    ...(lagBytes === undefined ? {} : { lagBytes }),
  });
  if (!loopHealthy) return no('agent loop stalled');
  if (!l?.running) return no('postgres is not running');
  if (!l.reachable) return no(`postgres does not answer: ${l.error ?? '?'}`);
  if (l.role !== 'standby') return no('not in recovery (a primary)');
  if (l.walReceiver?.status !== 'streaming')
    return no(`WAL receiver ${l.walReceiver?.status ?? 'not running'}`);
  const lag = lagOf(l);
  if (maxLagBytes !== undefined && (lag === null || lag > maxLagBytes))
    return no(`replay lag ${lag ?? 'unknown'} B over ${maxLagBytes} B`, lag);
  const from = `${l.walReceiver.senderHost ?? '?'}:${l.walReceiver.senderPort ?? '?'}`;
  return { ok: true, reason: `streaming from ${from}`, role, lagBytes: lag };
}

export interface AgentStatus {
  node: string;
  cluster: string;
  healthy: boolean;
  lastTickAgoMs: number | null;
  epoch: number | null;
  primary: string | null;
  topologyState: string | null;
  coordination: 'majority' | 'no-majority';
  coordinationError: string | null;
  lastConfirmAgoMs: number;
  postgres:
    | (Omit<LocalObservation, 'upstream'> & { upstream: string | null; lagBytes: number | null })
    | null;
  verdict: Verdict | null;
  decision: { kind: string; reason: string; evidence: string } | null;
  action: { kind: string; forMs: number } | null;
}

export function agentStatus(o: {
  node: string;
  cluster: string;
  health: { ok: boolean; lastTickAgoMs: number | null };
  topology: Topology | null;
  coordinationOk: boolean;
  coordinationError: string | null;
  lastConfirmAgoMs: number;
  local: LocalObservation | null;
  verdict: Verdict | null;
  decision: AgentDecision | null;
  action: { kind: string; forMs: number } | null;
}): AgentStatus {
  const l = o.local;
  return {
    node: o.node,
    cluster: o.cluster,
    healthy: o.health.ok,
    lastTickAgoMs: o.health.lastTickAgoMs,
    epoch: o.topology?.epoch ?? null,
    primary: o.topology?.primary ?? null,
    topologyState: o.topology?.state ?? null,
    coordination: o.coordinationOk ? 'majority' : 'no-majority',
    coordinationError: o.coordinationError,
    lastConfirmAgoMs: o.lastConfirmAgoMs,
    postgres: l && {
      ...l,
      upstream: l.upstream ? `${l.upstream.host}:${l.upstream.port}` : null,
      lagBytes: lagOf(l),
    },
    verdict: o.verdict,
    decision: o.decision && {
      kind: o.decision.kind,
      reason: o.decision.reason,
      evidence: o.decision.evidence,
    },
    action: o.action,
  };
}
