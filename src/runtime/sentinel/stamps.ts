/**
 * Epoch stamps that failed are kept and retried, never swallowed. Every step that promotes or
 * re-records a primary stamps the epoch into the node's `pgvigil` schema (`stampEpoch`); when
 * that write fails (the node is slow, the connection broke), `stampEpoch` below logs it and
 * hands it to the cluster's `EpochStamps`, which the leader's loop retries each tick while the
 * epoch is still the committed one and the node still its primary. A superseded stamp is
 * dropped (logged): the newer epoch's own stamp replaces it.
 */
import type { Topology } from '../../core/model.js';
import type { NodeSpec } from '../../core/spec.js';
import type { Logger } from '../../ports/logger.js';
import type { NodeControl } from '../../ports/postgres.js';

interface PendingStamp {
  node: NodeSpec;
  epoch: number;
  primary: string;
  attempts: number;
}

/** Logged at warn on the first failure and every this many retries after it (debug between). */
const WARN_EVERY = 10;

export class EpochStamps {
  readonly #pg: Pick<NodeControl, 'stampEpoch'>;
  readonly #log: Logger;
  readonly #cluster: string;
  /** one pending stamp per node: the highest epoch wins */
  readonly #pending = new Map<string, PendingStamp>();

  constructor(d: { pg: Pick<NodeControl, 'stampEpoch'>; log: Logger; cluster: { name: string } }) {
    this.#pg = d.pg;
    this.#log = d.log;
    this.#cluster = d.cluster.name;
  }

  get pending(): readonly { node: string; epoch: number; attempts: number }[] {
    return [...this.#pending.values()].map((p) => ({
      node: p.node.name,
      epoch: p.epoch,
      attempts: p.attempts,
    }));
  }

  /** Remember a failed stamp (kept only if newer than one already pending for the node). */
  defer(node: NodeSpec, epoch: number, primary: string): void {
    const had = this.#pending.get(node.name);
    if (had && had.epoch >= epoch) return;
    this.#pending.set(node.name, { node, epoch, primary, attempts: 1 });
  }

  /** Retry what is still true under `topology`; returns the stamps written now. */
  async retry(topology: Topology): Promise<{ node: string; epoch: number }[]> {
    const done: { node: string; epoch: number }[] = [];
    for (const p of [...this.#pending.values()]) {
      const ctx = { cluster: this.#cluster, epoch: p.epoch, node: p.node.name };
      if (p.epoch < topology.epoch || topology.primary !== p.primary) {
        this.#pending.delete(p.node.name);
        this.#log.info(
          { ...ctx, committedEpoch: topology.epoch, primary: topology.primary },
          'pending epoch stamp dropped: superseded by a newer topology',
        );
        continue;
      }
      if (p.epoch > topology.epoch) continue; // not adopted here yet: wait for it
      try {
        await this.#pg.stampEpoch(p.node, p.epoch, p.primary);
        this.#pending.delete(p.node.name);
        done.push({ node: p.node.name, epoch: p.epoch });
        this.#log.info({ ...ctx, attempts: p.attempts + 1 }, 'epoch stamp written on retry');
      } catch (err) {
        p.attempts++;
        const level = p.attempts % WARN_EVERY === 0 ? 'warn' : 'debug';
        this.#log[level](
          { ...ctx, attempts: p.attempts, err: (err as Error).message },
          'epoch stamp retry failed: retrying next tick',
        );
      }
    }
    return done;
  }
}

/**
 * Stamp `epoch` into `node`; a failure is logged and, when the cluster keeps `stamps`, retried
 * by the loop. Never throws (the step that called it goes on).
 */
export async function stampEpoch(
  d: {
    pg: Pick<NodeControl, 'stampEpoch'>;
    log: Logger;
    cluster: { name: string };
    stamps?: EpochStamps;
  },
  node: NodeSpec,
  epoch: number,
  primary: string,
): Promise<boolean> {
  try {
    await d.pg.stampEpoch(node, epoch, primary);
    return true;
  } catch (err) {
    d.log.warn(
      {
        cluster: d.cluster.name,
        epoch,
        node: node.name,
        err: (err as Error).message,
        retried: d.stamps !== undefined,
      },
      d.stamps ? 'epoch stamp failed: retrying each tick' : 'epoch stamp failed',
    );
    d.stamps?.defer(node, epoch, primary);
    return false;
  }
}
