/**
 * Safety rule 2: no failover while any standby is still streaming from the primary.
 *
 * If a standby's WAL receiver is `streaming` and heard from its sender less than
 * `downAfterMs` ago, the primary is alive: the sentinels are the ones cut off from it, and a
 * failover would create a second primary. The age is taken as of NOW: the receiver's
 * `lastMsgAgeMs` at probe time plus the time since that probe, so an old probe cannot vouch
 * for the primary forever.
 *
 * What gives NO evidence (so a crashed primary is not held up):
 * - a standby with no receiver row, or a receiver in any other status (`waiting`, ...);
 * - a receiver that last heard from its sender `downAfterMs` ago or more;
 * - a standby we have no successful probe of;
 * - a receiver whose sender is, by host and port, another configured non-primary node
 *   (cascading replication: it proves that node alive, not the primary).
 * A receiver whose sender matches no configured node still counts: sentinels may reach nodes
 * through other addresses (proxies, NAT), and a false "alive" only delays a failover while a
 * false "dead" could split the brain.
 */
import { compareText } from './compare.js';
import { formatMs } from './format.js';
import type { NodeObservation } from './health.js';

export interface AddressedNode {
  name: string;
  host: string;
  port: number;
}

export interface StreamingInput {
  primary: string;
  nodes: readonly AddressedNode[];
  observations: Readonly<Record<string, NodeObservation | undefined>>;
  nowMono: number;
  downAfterMs: number;
}

export interface StreamingEvidence {
  /** true: the primary is alive, do not fail over */
  holds: boolean;
  /** the standby that heard from the primary most recently */
  standby?: string;
  ageMs?: number;
  evidence: string;
}

export function standbyStillStreaming(input: StreamingInput): StreamingEvidence {
  let best: { standby: string; ageMs: number } | null = null;
  const byName = [...input.nodes].sort((a, b) => compareText(a.name, b.name));
  for (const node of byName) {
    if (node.name === input.primary) continue;
    const probe = input.observations[node.name]?.lastOk;
    const rx = probe?.walReceiver;
    if (probe === undefined || probe === null || probe.role !== 'standby' || rx === undefined)
      continue;
    if (rx.status !== 'streaming') continue;
    const cascading = input.nodes.some(
      (n) => n.name !== input.primary && n.host === rx.senderHost && n.port === rx.senderPort,
    );
    if (cascading) continue;
    const ageMs = rx.lastMsgAgeMs + Math.max(0, input.nowMono - probe.atMono);
    if (ageMs >= input.downAfterMs) continue;
    if (best === null || ageMs < best.ageMs) best = { standby: node.name, ageMs };
  }
  if (best === null) {
    return { holds: false, evidence: 'no standby heard from the primary recently' };
  }
  return {
    holds: true,
    standby: best.standby,
    ageMs: best.ageMs,
    evidence: `${best.standby} is streaming from the primary, last message ${formatMs(best.ageMs)} ago (downAfter ${formatMs(input.downAfterMs)})`,
  };
}
