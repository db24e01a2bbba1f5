/**
 * The agent's `/metrics`: its own node's series (catalogue.ts, source `agent`), read from the
 * agent's last loop when Prometheus scrapes (no extra work between scrapes), plus the
 * replication slots of a primary, queried at scrape time. Injected Registry, as the sentinel's.
 */
import { collectDefaultMetrics, type Counter, type Gauge, Registry } from 'prom-client';

import { DEFAULT_METRICS_PREFIX, EVENT_LOOP_SAMPLE_MS, METRICS } from './catalogue.js';
import { counterOf, gaugeOf } from './series.js';

/** What the agent's loop last saw (a subset of its GET /status answer). */
export interface AgentMetricsView {
  epoch: number | null;
  coordination: 'majority' | 'no-majority';
  postgres: {
    running: boolean;
    reachable: boolean;
    role: 'primary' | 'standby' | null;
    fenced: boolean;
    lagBytes: number | null;
  } | null;
}

export interface SlotRow {
  slot: string;
  active: boolean;
  retainedBytes: number | null;
}

export interface AgentMetricsDeps {
  cluster: string;
  node: string;
  view(): AgentMetricsView;
  /** the replication slots of the local postgres when it is a primary ([] otherwise) */
  slots?(): Promise<SlotRow[]>;
  defaults?: boolean;
}

export class AgentMetrics {
  readonly registry: Registry;
  readonly #lastRejoin: Gauge<'cluster' | 'node' | 'method'>;
  readonly #rejoins: Counter<'cluster' | 'node' | 'method'>;
  readonly #labels: { cluster: string; node: string };

  constructor(deps: AgentMetricsDeps, registry: Registry = new Registry()) {
    this.registry = registry;
    const r = registry;
    const labels = { cluster: deps.cluster, node: deps.node };
    this.#labels = labels;
    const fromView = (pick: (v: AgentMetricsView) => number | null) =>
      function (this: Gauge<'cluster' | 'node'>) {
        const n = pick(deps.view());
        if (n === null) this.remove(labels);
        else this.set(labels, n);
      };
    const pgOf = (v: AgentMetricsView) => v.postgres;
    gaugeOf(
      METRICS.agentPostgresUp,
      r,
      fromView((v) => (pgOf(v)?.running && pgOf(v)?.reachable ? 1 : 0)),
    );
    gaugeOf(
      METRICS.agentIsPrimary,
      r,
      fromView((v) => (pgOf(v)?.role === 'primary' ? 1 : 0)),
    );
    gaugeOf(
      METRICS.agentLagBytes,
      r,
      fromView((v) => (pgOf(v)?.role === 'standby' ? (pgOf(v)?.lagBytes ?? null) : null)),
    );
    gaugeOf(
      METRICS.fenced,
      r,
      fromView((v) => (pgOf(v)?.fenced ? 1 : 0)),
    );
    gaugeOf(
      METRICS.agentEpoch,
      r,
      fromView((v) => v.epoch),
    );
    gaugeOf(
      METRICS.agentCoordination,
      r,
      fromView((v) => (v.coordination === 'majority' ? 1 : 0)),
    );
    this.#lastRejoin = gaugeOf(METRICS.lastRejoin, r);
    this.#rejoins = counterOf(METRICS.rejoins, r);
    // both slot series come from one query per scrape (prom-client collects them concurrently)
    const read = deps.slots;
    let pending: { at: number; rows: Promise<SlotRow[] | null> } | null = null;
    const slotsOnce = (): Promise<SlotRow[] | null> => {
      if (!read) return Promise.resolve(null);
      if (pending === null || performance.now() - pending.at > 1000)
        pending = { at: performance.now(), rows: read().catch(() => null) };
      return pending.rows;
    };
    const slotSeries = (pick: (s: SlotRow) => number | null) =>
      async function (this: Gauge<'cluster' | 'node' | 'slot'>) {
        const rows = await slotsOnce();
        if (rows === null) return; // keep the last values: one failed scrape is no news
        this.reset();
        for (const s of rows) {
          const n = pick(s);
          if (n !== null) this.set({ ...labels, slot: s.slot }, n);
        }
      };
    gaugeOf(
      METRICS.slotRetained,
      r,
      slotSeries((s) => s.retainedBytes),
    );
    gaugeOf(
      METRICS.slotActive,
      r,
      slotSeries((s) => (s.active ? 1 : 0)),
    );
    if (deps.defaults !== false)
      collectDefaultMetrics({
        register: r,
        prefix: DEFAULT_METRICS_PREFIX,
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
  }

  /** A `node-rejoined` event of this node: when and how. */
  rejoined(method: string, atMs: number): void {
    const l = { ...this.#labels, method };
    this.#lastRejoin.set(l, atMs / 1000);
    this.#rejoins.inc(l);
  }
}
