/**
 * The operator's fence, one function for `pgvigil fence|unfence NODE` and the sentinel's
 * `POST /fence|/unfence`: the SQL fence (adapters/postgres/hard-fence.ts), the `fenced` mark in
 * the committed topology (an epoch CAS, the same primary: no failover), node-fenced /
 * node-unfenced. Fencing the topology's primary pauses automatic failover of its cluster (a
 * fenced primary fails every probe: without the pause the sentinels would fail over, which the
 * operator did not ask for); `unfence` of that node resumes it.
 */
import type { PgvigilEvent } from '../core/events.js';
import { withFenceMark } from '../core/fence-mark.js';
import type { NodeSpec } from '../core/model.js';
import type { CoordinationStore } from '../ports/coordination.js';

const PAUSE_REASON = (node: string): string => `primary ${node} fenced by the operator`;
const CAS_TRIES = 5;

export interface OperatorFenceDeps {
  store: Pick<CoordinationStore, 'readTopology' | 'casTopology' | 'setPause' | 'readPause'>;
  bus: { emit(e: PgvigilEvent): Promise<unknown> };
  pg: {
    operatorFence(node: NodeSpec): Promise<{ databases: string[] }>;
    operatorUnfence(node: NodeSpec): Promise<{ databases: string[] }>;
  };
  wall(): number;
}

export interface OperatorFenceResult {
  node: string;
  fenced: boolean;
  /** epoch of the topology that carries the mark (0: no topology committed yet) */
  epoch: number;
  paused: boolean;
  message: string;
}

export async function operatorFence(
  d: OperatorFenceDeps,
  o: { cluster: string; node: NodeSpec; fenced: boolean; by: string },
): Promise<OperatorFenceResult> {
  const { cluster, node, by } = o;
  const t = (await d.store.readTopology(cluster)).value;
  const isPrimary = t?.primary === node.name;
  if (o.fenced) {
    if (isPrimary)
      await d.store.setPause(cluster, {
        paused: true,
        by,
        atWall: d.wall(),
        reason: PAUSE_REASON(node.name),
      });
    const { databases } = await d.pg.operatorFence(node);
    const epoch = await mark(d, o);
    const reason = `operator fence: connections to ${databases.join(', ') || 'no database'} refused, every session ended`;
    await d.bus.emit({ type: 'node-fenced', cluster, epoch, node: node.name, by, reason });
    if (isPrimary)
      await d.bus.emit({ type: 'paused', cluster, epoch, by, reason: PAUSE_REASON(node.name) });
    const pausedNote = isPrimary
      ? `; automatic failover of ${cluster} paused: \`pgvigil unfence ${node.name}\` or \`pgvigil resume\``
      : '';
    return {
      node: node.name,
      fenced: true,
      epoch,
      paused: isPrimary,
      message: `${node.name}: fenced (${reason})${pausedNote}`,
    };
  }
  const { databases } = await d.pg.operatorUnfence(node);
  const epoch = await mark(d, o);
  const reason = `operator unfence: connections to ${databases.join(', ') || 'no database'} allowed again`;
  await d.bus.emit({ type: 'node-unfenced', cluster, epoch, node: node.name, by, reason });
  const pause = (await d.store.readPause(cluster).catch(() => null))?.value;
  let resumed = false;
  if (pause?.paused && pause.reason === PAUSE_REASON(node.name)) {
    await d.store.setPause(cluster, { paused: false, by, atWall: d.wall() });
    await d.bus.emit({ type: 'resumed', cluster, epoch, by });
    resumed = true;
  }
  return {
    node: node.name,
    fenced: false,
    epoch,
    paused: false,
    message: `${node.name}: unfenced (${reason})${resumed ? `; automatic failover of ${cluster} resumed` : ''}`,
  };
}

/**
 * Record (or clear) the mark: CAS of the next epoch over what is committed, re-read and retried
 * when another writer got there first. Returns the epoch that carries the mark.
 */
async function mark(
  d: OperatorFenceDeps,
  o: { cluster: string; node: NodeSpec; fenced: boolean; by: string },
): Promise<number> {
  let seen = 0;
  for (let i = 0; i < CAS_TRIES; i++) {
    const t = (await d.store.readTopology(o.cluster)).value;
    if (!t) return 0; // nothing committed yet: the first commit (bootstrap) starts unmarked
    const next = withFenceMark(t, o.node.name, o.fenced, {
      nowIso: new Date(d.wall()).toISOString(),
      by: o.by,
    });
    if (!next) return t.epoch;
    const res = await d.store.casTopology(o.cluster, t.epoch, next, o.by);
    if (res.committed) {
      await d.bus.emit({
        type: 'topology-changed',
        cluster: o.cluster,
        epoch: next.epoch,
        topology: next,
      });
      return next.epoch;
    }
    seen = res.seenEpoch;
  }
  throw new Error(
    `${o.node.name}: ${o.fenced ? 'fenced' : 'unfenced'} over SQL, but the mark is not in the topology (lost the epoch CAS ${CAS_TRIES} times, last seen epoch ${seen}): run the command again`,
  );
}
