/**
 * Keeps the synchronous standby of a `replication.mode: sync` cluster (see core/sync.ts for the
 * rules and why their order matters). Called by the leader once per tick, when coordination has
 * a majority and the topology is settled (`ok` or `degraded`, never during a failover or a
 * switchover); it runs the steps of `planSync` in order and stops at the first that fails, so
 * the names never change after a record that did not commit.
 *
 * - `record` commits the topology with the epoch CAS e -> e+1 (same primary): the leader may not
 *   be the writer of the current epoch, so `updateTopology` is not an option. Then it emits
 *   `topology-changed` and stamps the new epoch on the primary (best effort).
 * - `set-names` runs `ALTER SYSTEM SET synchronous_standby_names` + reload on the primary. When
 *   no record preceded it this tick, the topology is re-read first: a lock is not a fence, and a
 *   newer epoch means our plan was made on a stale view.
 */
import type { NodeObservation } from '../../core/health.js';
import type { Topology } from '../../core/model.js';
import { planSync, type SyncMemory, type SyncPlan } from '../../core/sync.js';
import type { SyncDeps } from './deps.js';
import { stampEpoch } from './stamps.js';

const SETTLED = new Set<Topology['state']>(['ok', 'degraded']);

export class SyncStandbyManager {
  readonly #d: SyncDeps;
  #memory: SyncMemory = {};
  #lastLogged = '';

  constructor(deps: SyncDeps) {
    this.#d = deps;
  }

  /** One reconcile step; returns the new topology when it committed a change, else null. */
  async reconcile(ctx: {
    topology: Topology;
    observations: Readonly<Record<string, NodeObservation>>;
  }): Promise<Topology | null> {
    const { cluster, clock } = this.#d;
    // `degraded` too: the primary writes, and a stale names value there would block commits
    if (cluster.replication.mode !== 'sync' || !SETTLED.has(ctx.topology.state)) return null;
    const plan = planSync({
      topology: ctx.topology,
      nodes: cluster.nodes,
      observations: ctx.observations,
      memory: this.#memory,
      nowMono: clock.mono(),
    });
    this.#memory = plan.memory;
    this.#log(ctx.topology, plan);
    let current = ctx.topology;
    let changed: Topology | null = null;
    for (const step of plan.steps) {
      if (step.type === 'record') {
        const next = await this.#record(current, step.syncStandbys, step.reason);
        if (!next) return changed;
        current = changed = next;
      } else {
        if (changed === null && !(await this.#stillCurrent(current))) return changed;
        if (!(await this.#setNames(current, step.value))) return changed;
      }
    }
    return changed;
  }

  async #record(prev: Topology, syncStandbys: string[], reason: string): Promise<Topology | null> {
    const { store, bus, log, sentinelId, clock } = this.#d;
    const next: Topology = {
      ...prev,
      epoch: prev.epoch + 1,
      syncStandbys,
      updatedAt: new Date(clock.wall()).toISOString(),
      reason,
      committedBy: sentinelId,
    };
    const ctx = { cluster: prev.cluster, epoch: next.epoch, syncStandbys };
    const res = await store
      .casTopology(prev.cluster, prev.epoch, next, sentinelId)
      .catch((err: Error) => {
        log.warn({ ...ctx, err: err.message }, 'sync standby not recorded: coordination error');
        return null;
      });
    if (!res?.committed) {
      if (res)
        log.warn(
          { ...ctx, seenEpoch: res.seenEpoch },
          'sync standby not recorded: lost the epoch CAS',
        );
      return null;
    }
    log.info({ ...ctx, node: syncStandbys[0], reason }, `recorded ${reason}`);
    await bus.emit({
      type: 'topology-changed',
      cluster: prev.cluster,
      epoch: next.epoch,
      topology: next,
    });
    const primary = this.#spec(next.primary);
    if (primary) await stampEpoch(this.#d, primary, next.epoch, next.primary);
    return next;
  }

  async #stillCurrent(t: Topology): Promise<boolean> {
    try {
      const read = await this.#d.store.readTopology(t.cluster);
      return read.value?.epoch === t.epoch;
    } catch {
      return false;
    }
  }

  async #setNames(t: Topology, value: string): Promise<boolean> {
    const { pg, log } = this.#d;
    const ctx = {
      cluster: t.cluster,
      epoch: t.epoch,
      node: t.primary,
      synchronousStandbyNames: value,
    };
    const primary = this.#spec(t.primary);
    if (!primary) return false;
    try {
      await pg.setSyncStandbyNames(primary, value);
      log.info(
        ctx,
        value ? `synchronous_standby_names = ${value}` : 'synchronous_standby_names cleared',
      );
      return true;
    } catch (err) {
      log.warn({ ...ctx, err: (err as Error).message }, 'could not set synchronous_standby_names');
      return false;
    }
  }

  #spec(name: string) {
    return this.#d.cluster.nodes.find((x) => x.name === name) ?? null;
  }

  /** Log a plan when its reason or target changes (not every tick). */
  #log(t: Topology, plan: SyncPlan): void {
    const key = `${t.epoch}:${plan.reason}:${plan.target ?? ''}`;
    if (key === this.#lastLogged) return;
    this.#lastLogged = key;
    const level = plan.steps.length > 0 || plan.reason === 'confirming-loss' ? 'info' : 'debug';
    this.#d.log[level](
      {
        cluster: t.cluster,
        epoch: t.epoch,
        node: plan.target ?? undefined,
        reason: plan.reason,
        evidence: plan.evidence,
        steps: plan.steps.map((s) =>
          s.type === 'record' ? `record [${s.syncStandbys.join(',')}]` : `names '${s.value}'`,
        ),
      },
      `sync standby: ${plan.reason}`,
    );
  }
}
