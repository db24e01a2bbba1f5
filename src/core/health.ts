/**
 * SDOWN: is a node down as seen by THIS sentinel's probes? (Redis Sentinel's
 * `sentinelCheckSubjectivelyDown`.)
 *
 * The runtime keeps one `NodeHealth` value per node, folds every probe result into it with
 * `recordProbe`, and once per tick calls `judge`, which returns the verdict with its evidence
 * and whether it changed since the last report (so node-down/node-up are emitted once per
 * change, not once per tick).
 *
 * A node is down when:
 * - no probe succeeded for `downAfterMs` (hung, partitioned, or the heartbeat cannot commit:
 *   `write-failed` is a failed probe like any other), or
 * - no probe succeeded for `refusedAfterMs` and EVERY failed probe since the last success was
 *   `refused`: the postmaster is gone, which is surer evidence than a timeout, so we may
 *   conclude sooner.
 * Silence is measured from the last success, or, for a node never reached, from the start of
 * the first probe attempt (so a sentinel started next to a dead primary still detects it).
 *
 * The tracker keeps only maxima of times, never counters, so probe results that arrive out of
 * order (concurrent probes) give the same verdict as in order.
 */
import type { PgvigilEvent } from './events.js';
import { formatMs } from './format.js';
import type { ProbeResult } from './model.js';
import type { Timing } from './spec.js';

export interface NodeHealth {
  readonly node: string;
  /** start (atMono - durationMs) of the earliest probe attempt recorded */
  readonly firstAttemptMono: number | null;
  readonly lastOkMono: number | null;
  readonly lastFailureMono: number | null;
  /** latest failure whose kind was not `refused` */
  readonly lastNonRefusedFailureMono: number | null;
  /** latest probe result of any outcome, and latest successful one (its LSNs are "last known") */
  readonly last: ProbeResult | null;
  readonly lastOk: ProbeResult | null;
  /** what `judge` last reported; null before the first verdict with evidence */
  readonly reported: 'up' | 'down' | null;
}

export type SdownReason =
  | 'ok'
  | 'never-probed' // no attempt recorded: no evidence either way, so not down
  | 'probe-failing' // failing, but not for long enough yet
  | 'no-success-for-downAfter'
  | 'refused-for-refusedAfter';

export interface SdownVerdict {
  node: string;
  down: boolean;
  reason: SdownReason;
  evidence: string;
  /** start of the current silence (last success, or first attempt); absent when ok */
  sinceMono?: number;
}

/** What decisions read about a node: the verdict plus the probes behind it. */
export interface NodeObservation {
  node: string;
  verdict: SdownVerdict;
  last: ProbeResult | null;
  lastOk: ProbeResult | null;
}

export interface Judgement {
  health: NodeHealth;
  observation: NodeObservation;
  /** set only when the verdict flipped since the previous report */
  changed: 'down' | 'up' | null;
}

export function newNodeHealth(node: string): NodeHealth {
  return {
    node,
    firstAttemptMono: null,
    lastOkMono: null,
    lastFailureMono: null,
    lastNonRefusedFailureMono: null,
    last: null,
    lastOk: null,
    reported: null,
  };
}

function max(a: number | null, b: number): number {
  return a === null ? b : Math.max(a, b);
}

function newer(a: ProbeResult | null, b: ProbeResult): ProbeResult {
  return a === null || b.atMono >= a.atMono ? b : a;
}

export function recordProbe(health: NodeHealth, probe: ProbeResult): NodeHealth {
  if (probe.node !== health.node) {
    throw new Error(`probe of ${probe.node} recorded into the tracker of ${health.node}`);
  }
  const start = probe.atMono - Math.max(0, probe.durationMs);
  const next: NodeHealth = {
    ...health,
    firstAttemptMono:
      health.firstAttemptMono === null ? start : Math.min(health.firstAttemptMono, start),
    last: newer(health.last, probe),
  };
  if (probe.ok) {
    return {
      ...next,
      lastOkMono: max(health.lastOkMono, probe.atMono),
      lastOk: newer(health.lastOk, probe),
    };
  }
  return {
    ...next,
    lastFailureMono: max(health.lastFailureMono, probe.atMono),
    lastNonRefusedFailureMono:
      probe.failure === 'refused'
        ? health.lastNonRefusedFailureMono
        : max(health.lastNonRefusedFailureMono, probe.atMono),
  };
}

function after(t: number | null, since: number | null): boolean {
  return t !== null && (since === null || t > since);
}

function lastFailureText(health: NodeHealth): string {
  const p = health.last;
  if (p === null || p.ok) return '';
  const detail = p.message === undefined ? '' : `: ${p.message}`;
  return `; last failure ${p.failure ?? 'error'}${detail}`;
}

export function sdown(health: NodeHealth, nowMono: number, timing: Timing): SdownVerdict {
  const { node } = health;
  if (health.firstAttemptMono === null) {
    return { node, down: false, reason: 'never-probed', evidence: 'not probed yet' };
  }
  const sinceMono = health.lastOkMono ?? health.firstAttemptMono;
  const silentMs = nowMono - sinceMono;
  const failing = after(health.lastFailureMono, health.lastOkMono);
  const allRefused = failing && !after(health.lastNonRefusedFailureMono, health.lastOkMono);
  const silence =
    health.lastOkMono === null
      ? `never answered since the first attempt ${formatMs(silentMs)} ago`
      : `no successful probe for ${formatMs(silentMs)}`;

  if (allRefused && silentMs >= timing.refusedAfterMs) {
    return {
      node,
      down: true,
      reason: 'refused-for-refusedAfter',
      evidence: `${silence}, every attempt refused (refusedAfter ${formatMs(timing.refusedAfterMs)})`,
      sinceMono,
    };
  }
  if (silentMs >= timing.downAfterMs) {
    return {
      node,
      down: true,
      reason: 'no-success-for-downAfter',
      evidence: `${silence} (downAfter ${formatMs(timing.downAfterMs)})${lastFailureText(health)}`,
      sinceMono,
    };
  }
  if (failing) {
    const limit = allRefused ? timing.refusedAfterMs : timing.downAfterMs;
    return {
      node,
      down: false,
      reason: 'probe-failing',
      evidence: `${silence}, down after ${formatMs(limit)}${lastFailureText(health)}`,
      sinceMono,
    };
  }
  return { node, down: false, reason: 'ok', evidence: `last probe ok ${formatMs(silentMs)} ago` };
}

/** The verdict for this tick, and whether it flipped since the last report. */
export function judge(health: NodeHealth, nowMono: number, timing: Timing): Judgement {
  const verdict = sdown(health, nowMono, timing);
  const observation: NodeObservation = {
    node: health.node,
    verdict,
    last: health.last,
    lastOk: health.lastOk,
  };
  if (verdict.reason === 'never-probed') return { health, observation, changed: null };
  const now = verdict.down ? 'down' : 'up';
  // The first verdict is reported only when it is `down`: a node found up needs no event.
  let changed: Judgement['changed'] = null;
  if (now === 'down' && health.reported !== 'down') changed = 'down';
  if (now === 'up' && health.reported === 'down') changed = 'up';
  return { health: { ...health, reported: now }, observation, changed };
}

/** The node-down / node-up event for a judgement that changed, else null. */
export function transitionEvent(
  cluster: string,
  epoch: number,
  sentinel: string,
  judgement: Judgement,
): PgvigilEvent | null {
  const { node, verdict } = judgement.observation;
  if (judgement.changed === 'down') {
    return {
      type: 'node-down',
      cluster,
      epoch,
      node,
      sentinel,
      reason: `${verdict.reason}: ${verdict.evidence}`,
    };
  }
  if (judgement.changed === 'up') return { type: 'node-up', cluster, epoch, node, sentinel };
  return null;
}
