/**
 * Rule 5 after the fact: a node answering as a writable primary that the committed topology
 * says is a standby (an old primary that was unreachable during the failover and came back)
 * is fenced at once, before clients that missed the event can write to it. Once per node and
 * epoch; a failed fence is tried again next tick.
 */
import type { NodeObservation } from '../../core/health.js';
import type { Topology } from '../../core/model.js';
import type { NodeControl } from '../../ports/postgres.js';
import type { EventSink } from '../events.js';
import type { ClusterContext } from './deps.js';

export interface StrayFenceDeps extends ClusterContext {
  pg: Pick<NodeControl, 'fence'>;
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
    topology: Topology,
    observations: Readonly<Record<string, NodeObservation | undefined>>,
  ): Promise<string[]> {
    const fenced: string[] = [];
    for (const n of this.#d.cluster.nodes) {
      const last = observations[n.name]?.last;
      if (n.name === topology.primary || !last?.ok || last.role !== 'primary') continue;
      if (this.#fencedAt.get(n.name) === topology.epoch) continue;
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
}
