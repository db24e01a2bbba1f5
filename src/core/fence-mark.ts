/**
 * The operator's fence mark in the committed topology (`Topology.fenced`, issue 7 item 3):
 * the next topology with `node` marked or cleared, one epoch up (the CAS rule: a topology
 * changes only by a commit of the next epoch), or null when the mark already says so.
 * The primary stays the primary: a mark never starts a failover.
 */
import type { Topology } from './model.js';

export function fencedNodes(t: Topology | null): string[] {
  return t?.fenced ?? [];
}

export function withFenceMark(
  t: Topology,
  node: string,
  fenced: boolean,
  o: { nowIso: string; by: string },
): Topology | null {
  const now = fencedNodes(t);
  if (now.includes(node) === fenced) return null;
  const next = fenced ? [...now, node] : now.filter((n) => n !== node);
  const { fenced: _drop, ...rest } = t;
  return {
    ...rest,
    ...(next.length > 0 ? { fenced: next } : {}),
    epoch: t.epoch + 1,
    updatedAt: o.nowIso,
    reason: `${node} ${fenced ? 'fenced' : 'unfenced'} by ${o.by}`,
    committedBy: o.by,
  };
}
