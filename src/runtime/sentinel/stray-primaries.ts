/**
 * Rule 5 after the fact: a node answering as a writable primary that the committed topology
 * says is a standby (an old primary that was unreachable during the failover and came back)
 * is fenced at once, before clients that missed the event can write to it. Once per node and
 * epoch; a failed fence is tried again next tick. The topology is read again from the majority
 * first: the one the loop holds may be stale (a newer epoch may have made that node primary),
 * and without a majority nothing is fenced.
 */
import type { NodeObservation } from '../../core/health.js';
import type { Topology } from '../../core/model.js';
import type { CoordinationStore } from '../../ports/coordination.js';
import type { NodeControl } from '../../ports/postgres.js';
import type { EventSink } from '../events.js';
import type { ClusterContext } from './deps.js';

export interface StrayFenceDeps extends ClusterContext {
  pg: Pick<NodeControl, 'fence'>;
  store: Pick<CoordinationStore, 'readTopology'>;
  bus: EventSink;
}

export class StrayPrimaryFencer {
  readonly #d: StrayFenceDeps;
  /** epoch at which each stray primary was fenced, so it is fenced once per epoch */
  readonly #fencedAt = new Map<string, number>();

  constructor(deps: StrayFenceDeps) {
    this.#d = deps;
  }

  /** Fences every stray primary not yet fenced at this epoch; returns the nodes fenced now. */
  async fence(
    held: Topology,
    observations: Readonly<Record<string, NodeObservation | undefined>>,
  ): Promise<string[]> {
    const fenced: string[] = [];
    const strays = (t: Topology) =>
      this.#d.cluster.nodes.filter((n) => {
        const last = observations[n.name]?.last;
        if (n.name === t.primary || !last?.ok || last.role !== 'primary') return false;
        return this.#fencedAt.get(n.name) !== t.epoch;
      });
    if (strays(held).length === 0) return fenced;
    const topology = await this.#reread(held);
    if (topology === null) return fenced;
    for (const n of strays(topology)) {
      this.#fencedAt.set(n.name, topology.epoch);
      try {
        await this.#d.pg.fence(n);
        fenced.push(n.name);
        await this.#d.bus.emit({
          type: 'node-fenced',
          cluster: this.#d.cluster.name,
          epoch: topology.epoch,
          node: n.name,
          by: this.#d.sentinelId,
          reason: `answers as primary but ${topology.primary} is the primary of epoch ${topology.epoch}`,
        });
      } catch (err) {
        this.#fencedAt.delete(n.name);
        this.#d.log.warn(
          {
            cluster: this.#d.cluster.name,
            epoch: topology.epoch,
            node: n.name,
            err: (err as Error).message,
          },
          'could not fence a stray primary',
        );
      }
    }
    return fenced;
  }

  /** The committed topology now (never older than `held`), or null without a majority. */
  async #reread(held: Topology): Promise<Topology | null> {
    try {
      const t = (await this.#d.store.readTopology(held.cluster)).value;
      return t !== null && t.epoch > held.epoch ? t : held;
    } catch (err) {
      this.#d.log.warn(
        { cluster: held.cluster, epoch: held.epoch, err: (err as Error).message },
        'stray primary not fenced: topology could not be re-read',
      );
      return null;
    }
  }
}
