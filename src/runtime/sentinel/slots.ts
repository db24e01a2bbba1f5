/**
 * The leader's slot keeper (issue 7, item 7): slots must never fill the primary's disk.
 * Every few seconds, on the primary of the committed topology:
 * - `max_slot_wal_keep_size` is kept at `replication.maxSlotWalKeepSize` (default 1GB), so
 *   PostgreSQL itself stops retaining WAL for a slot beyond that;
 * - the slot of a cluster node that this sentinel has seen unreachable, and whose slot is
 *   inactive, for longer than `replication.dropSlotAfterMs` (default 10 min) is dropped, with a
 *   `slot-dropped` event (the node rejoins later with a new slot, its agent rewinds or copies);
 * - the slots and the WAL each retains are kept for the presence record (`pgvigil status`).
 */
import type { NodeObservation } from '../../core/health.js';
import type { SlotView, Topology } from '../../core/model.js';
import type { SlotControl } from '../../ports/slots.js';
import type { EventSink } from '../events.js';
import type { ClusterContext } from './deps.js';

export const SLOT_CHECK_EVERY_MS = 5000;
const DEFAULT_KEEP = '1GB';
const DEFAULT_DROP_AFTER_MS = 600_000;

export interface SlotKeeperDeps extends ClusterContext {
  slots: SlotControl;
  bus: EventSink;
}

export class SlotKeeper {
  readonly #d: SlotKeeperDeps;
  /** node -> monotonic time since which it is seen unreachable */
  readonly #goneSince = new Map<string, number>();
  #lastCheckMono: number | null = null;
  #keepSetOn: string | null = null;
  slots: SlotView[] = [];

  constructor(deps: SlotKeeperDeps) {
    this.#d = deps;
  }

  /** Track who is unreachable every tick; act on the primary every SLOT_CHECK_EVERY_MS. */
  async tick(
    topology: Topology,
    observations: Readonly<Record<string, NodeObservation | undefined>>,
  ): Promise<string[]> {
    const now = this.#d.clock.mono();
    for (const n of this.#d.cluster.nodes) {
      const up = observations[n.name]?.last?.ok === true;
      if (up) this.#goneSince.delete(n.name);
      else if (!this.#goneSince.has(n.name)) this.#goneSince.set(n.name, now);
    }
    if (this.#lastCheckMono !== null && now - this.#lastCheckMono < SLOT_CHECK_EVERY_MS) return [];
    this.#lastCheckMono = now;
    const primary = this.#d.cluster.nodes.find((n) => n.name === topology.primary);
    if (!primary || observations[primary.name]?.last?.ok !== true) return [];
    const ctx = { cluster: this.#d.cluster.name, epoch: topology.epoch, node: primary.name };
    try {
      await this.#keepSize(primary, ctx);
      this.slots = await this.#d.slots.listSlots(primary);
      return await this.#dropGone(topology, primary, now);
    } catch (err) {
      this.#d.log.warn({ ...ctx, err: (err as Error).message }, 'slot check failed');
      return [];
    }
  }

  async #keepSize(
    primary: { name: string } & Parameters<SlotControl['listSlots']>[0],
    ctx: object,
  ) {
    if (this.#keepSetOn === primary.name) return;
    const size = this.#d.cluster.replication.maxSlotWalKeepSize ?? DEFAULT_KEEP;
    if (await this.#d.slots.setSlotWalKeepSize(primary, size))
      this.#d.log.info({ ...ctx, size }, 'max_slot_wal_keep_size set on the primary');
    this.#keepSetOn = primary.name;
  }

  async #dropGone(
    topology: Topology,
    primary: Parameters<SlotControl['listSlots']>[0],
    now: number,
  ): Promise<string[]> {
    const after = this.#d.cluster.replication.dropSlotAfterMs ?? DEFAULT_DROP_AFTER_MS;
    const dropped: string[] = [];
    for (const slot of this.slots) {
      const since = this.#goneSince.get(slot.name);
      if (slot.active || slot.name === primary.name || since === undefined) continue;
      if (now - since < after) continue;
      if (!(await this.#d.slots.dropSlot(primary, slot.name))) continue;
      dropped.push(slot.name);
      const reason = `${slot.name} unreachable for ${Math.round((now - since) / 1000)} s (dropSlotAfterMs ${after}), slot retained ${slot.retainedBytes ?? 0} bytes`;
      this.#d.log.warn(
        { cluster: topology.cluster, epoch: topology.epoch, slot: slot.name },
        `slot dropped: ${reason}`,
      );
      await this.#d.bus.emit({
        type: 'slot-dropped',
        cluster: topology.cluster,
        epoch: topology.epoch,
        node: primary.name,
        slot: slot.name,
        by: this.#d.sentinelId,
        reason,
      });
    }
    this.slots = this.slots.filter((s) => !dropped.includes(s.name));
    return dropped;
  }
}
