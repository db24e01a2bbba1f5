/**
 * The leader's verdict on the primary, for the agents: a crashed primary's agent restarts it
 * as a primary only when the leader says no failover will happen (e.g. `no-candidate`,
 * `paused`, or `no-quorum` for long enough: `sinceWall`). See src/core/agent. Rewritten once a
 * second (a stale one, its leader gone, expires after VERDICT_TTL_MS).
 */
import type { Verdict } from '../../core/agent/model.js';
import type { Decision } from '../../core/decide.js';
import type { Topology } from '../../core/model.js';
import { RECORDS } from '../../ports/records.js';
import type { ClusterContext, RecordStore } from './deps.js';
import type { Throttle } from './throttle.js';

/** The leader rewrites its verdict every second; a stale one (leader gone) expires. */
const VERDICT_TTL_MS = 5000;

export class VerdictPublisher {
  readonly #d: ClusterContext & { store: Pick<RecordStore, 'putRecord'> };
  readonly #throttle: Throttle;
  #key = '';
  #sinceWall = 0;

  constructor(
    deps: ClusterContext & { store: Pick<RecordStore, 'putRecord'> },
    throttle: Throttle,
  ) {
    this.#d = deps;
    this.#throttle = throttle;
  }

  async publish(topology: Topology, decision: Decision): Promise<void> {
    const { clock, sentinelId, store, log, cluster } = this.#d;
    const nowWall = clock.wall();
    const key = `${topology.epoch}:${decision.reason}`;
    if (this.#key !== key) {
      this.#key = key;
      this.#sinceWall = nowWall;
    }
    if (!this.#throttle.due('verdict', key, 1000)) return;
    const verdict: Verdict = {
      id: `${sentinelId}:${key}:${this.#sinceWall}`,
      atWall: nowWall,
      epoch: topology.epoch,
      primary: topology.primary,
      kind: decision.kind,
      reason: decision.reason,
      sinceWall: this.#sinceWall,
      by: sentinelId,
    };
    const { name, schema } = RECORDS.verdict;
    await store
      .putRecord(cluster.name, name, verdict, VERDICT_TTL_MS, schema)
      .catch((err: Error) =>
        log.debug({ cluster: cluster.name, err: err.message }, 'verdict not written'),
      );
  }
}
