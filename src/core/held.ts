/**
 * `failover-held`: the primary is objectively down (a quorum agrees) but a safety rule holds
 * the automatic failover back: the cooldown after the last one (rule 6), or a standby that still
 * hears the primary (rule 2). Operators see why nothing happens. The leader emits it when its
 * decision turns into such a hold (once per change, not every tick).
 */
import type { Decision } from './decide.js';
import type { PgvigilEvent } from './events.js';

const HELD = new Set<Decision['reason']>(['cooldown', 'standby-still-streaming']);

export function heldEvent(
  cluster: string,
  sentinel: string,
  decision: Decision,
  previous: Decision | null,
): PgvigilEvent | null {
  if (!HELD.has(decision.reason) || decision.odown?.odown !== true) return null;
  if (previous?.reason === decision.reason && previous.epoch === decision.epoch) return null;
  return {
    type: 'failover-held',
    cluster,
    epoch: decision.epoch ?? 0,
    primary: decision.from ?? '',
    reason: decision.reason,
    evidence: decision.evidence,
    sentinel,
  };
}
