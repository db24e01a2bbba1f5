/**
 * The agent's hands and eyes on its own postgres, in memory: a NodeProcess (pg_ctl, pg_rewind,
 * pg_basebackup) and a LocalNodeObserver, both over one node of a FakePostgres, so what the
 * agent does through SQL control (fence, repoint, slots) and through the process (stop, start,
 * rewind) shows in the same state the sentinels' probes read.
 *
 * Replication follows the FakePostgres rules: a started standby streams from its upstream
 * unless it has `diverged` (holds WAL the primary never had). A rewind clears that (unless
 * scripted to fail or to find nothing), a base backup always does; `streamsAfterBaseBackup:
 * false` leaves even a fresh copy unable to stream (a broken replication setup).
 * Every operation is recorded in `calls` (`stop fast`, `start`, `rewind pg2`, ...).
 */
import { type LocalObservation, processOnlyObservation } from '../../src/core/agent/model.js';
import { PostgresUnreachable } from '../../src/core/errors.js';
import type { NodeSpec } from '../../src/core/spec.js';
import type { ControlData, NodeProcess, ProcessState } from '../../src/ports/node-process.js';
import type { LocalNodeObserver } from '../../src/ports/postgres.js';
import type { FakeNode, FakePostgres } from './postgres.js';

export interface ProcessScript {
  /** pg_rewind: `ok` (rewound), `noop` (nothing to do: changed false), `fail` (throws) */
  rewind: 'ok' | 'noop' | 'fail';
  /** pg_basebackup throws (after the old directory was moved aside) */
  baseBackupFails: boolean;
  /** false: the node does not stream even after a fresh base backup */
  streamsAfterBaseBackup: boolean;
  /** pg_ctl start throws (port in use, bad data directory) */
  startFails: boolean;
}

export class FakeNodeProcess implements NodeProcess {
  readonly dataDir: string;
  readonly calls: string[] = [];
  readonly script: ProcessScript = {
    rewind: 'ok',
    baseBackupFails: false,
    streamsAfterBaseBackup: true,
    startFails: false,
  };
  /** `standby.signal` exists */
  standbySignal: boolean;
  /** the postmaster is SIGSTOPped (tests set it; stop() and crash() clear it) */
  frozen = false;
  /** pg_controldata state, updated by stop() and crash() */
  controlState = 'in production';
  #pid = 4242;
  readonly #pg: FakePostgres;
  readonly #name: string;

  constructor(pg: FakePostgres, name: string) {
    this.#pg = pg;
    this.#name = name;
    this.dataDir = `/fake/${name}`;
    this.standbySignal = pg.node(name).role === 'standby';
    this.controlState = pg.node(name).role === 'standby' ? 'in archive recovery' : 'in production';
  }

  get #node(): FakeNode {
    return this.#pg.node(this.#name);
  }

  /** The postmaster dies (SIGKILL): no clean shutdown checkpoint. */
  crash(): void {
    this.frozen = false;
    this.#node.reach = 'down';
    this.controlState = this.#node.role === 'standby' ? 'in archive recovery' : 'in production';
  }

  state(): ProcessState {
    const running = this.#node.reach !== 'down';
    return {
      running,
      pid: running ? this.#pid : null,
      standbySignal: this.standbySignal,
      frozen: running && this.frozen,
    };
  }

  async clearOrphans(): Promise<void> {
    this.calls.push('clear-orphans');
  }

  async start(): Promise<number> {
    this.calls.push('start');
    if (this.script.startFails) throw new Error('pg_ctl start: could not bind to port');
    const n = this.#node;
    n.reach = 'up';
    n.role = this.standbySignal ? 'standby' : 'primary';
    this.controlState = this.standbySignal ? 'in archive recovery' : 'in production';
    return ++this.#pid;
  }

  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.calls.push(`stop ${mode}`);
    this.frozen = false;
    const n = this.#node;
    n.reach = 'down';
    this.controlState =
      mode === 'immediate'
        ? n.role === 'standby'
          ? 'in archive recovery'
          : 'in production'
        : n.role === 'standby'
          ? 'shut down in recovery'
          : 'shut down';
  }

  async controlData(): Promise<ControlData> {
    const lsn = this.#node.lsn;
    return {
      state: this.controlState,
      checkpointLsn: lsn,
      checkpointLsnText: `0/${lsn.toString(16).toUpperCase()}`,
      timeline: 1,
    };
  }

  configureStandby(primary: NodeSpec): void {
    this.calls.push(`configure-standby ${primary.name}`);
    this.standbySignal = true;
    Object.assign(this.#node, { upstream: primary.name, slot: this.#name, fenced: false });
  }

  async rewind(primary: NodeSpec): Promise<{ output: string; changed: boolean }> {
    this.calls.push(`rewind ${primary.name}`);
    if (this.script.rewind === 'fail')
      throw new Error(`pg_rewind: could not find common ancestor of ${primary.name}`);
    if (this.script.rewind === 'noop') return { output: 'no rewind required', changed: false };
    this.#node.diverged = false;
    this.#node.lsn = this.#pg.node(primary.name).lsn;
    return { output: 'Done!', changed: true };
  }

  async baseBackup(
    primary: NodeSpec,
    o: { slot: string; stamp: string; keepOld: boolean; onMovedAside?: (aside: string) => void },
  ): Promise<{ aside: string | null }> {
    this.calls.push(`basebackup ${primary.name} slot=${o.slot} keepOld=${o.keepOld}`);
    const aside = `${this.dataDir}.old-${o.stamp}`;
    o.onMovedAside?.(aside);
    if (this.script.baseBackupFails) throw new Error('pg_basebackup: connection refused');
    this.#node.diverged = !this.script.streamsAfterBaseBackup;
    this.#node.lsn = this.#pg.node(primary.name).lsn;
    this.#node.stampedEpoch = this.#pg.node(primary.name).stampedEpoch;
    return { aside: o.keepOld ? aside : null };
  }
}

/** What the agent's local session sees, over the same FakePostgres node. */
export class FakeLocalObserver implements LocalNodeObserver {
  readonly calls: string[] = [];
  /** how many times `observe` ran */
  observed = 0;
  /** each `observe` answers only after this long (setTimeout): a hung local postgres */
  hangMs = 0;
  readonly #pg: FakePostgres;
  readonly #name: string;
  readonly #process: Pick<NodeProcess, 'state'>;

  constructor(pg: FakePostgres, name: string, process: Pick<NodeProcess, 'state'>) {
    this.#pg = pg;
    this.#name = name;
    this.#process = process;
  }

  async observe(): Promise<LocalObservation> {
    this.observed++;
    if (this.hangMs > 0) await new Promise((r) => setTimeout(r, this.hangMs));
    const st = this.#process.state();
    const n = this.#pg.node(this.#name);
    const base = processOnlyObservation(st);
    if (!st.running) return base;
    if (n.reach !== 'up')
      return { ...base, error: n.reach === 'hung' ? 'Query read timeout' : 'shutting down' };
    const standby = n.role === 'standby';
    const upstream = n.upstream === null ? null : this.#pg.nodes.get(n.upstream);
    const from = this.#pg.streamsFrom(n);
    const sender = from === null ? null : this.#pg.node(from).spec;
    return {
      ...base,
      reachable: true,
      role: n.role,
      fenced: n.fenced,
      upstream: standby && upstream ? { host: upstream.spec.host, port: upstream.spec.port } : null,
      slot: n.slot,
      walReceiver: sender
        ? { status: 'streaming', senderHost: sender.host, senderPort: sender.port }
        : null,
      replayedLsn: standby ? n.lsn - n.replayLagBytes : null,
      senderEndLsn: standby && sender ? this.#pg.node(sender.name).lsn : null,
    };
  }

  async inRecovery(node: NodeSpec): Promise<boolean> {
    this.calls.push(`in-recovery ${node.name}`);
    const n = this.#pg.nodes.get(node.name);
    if (!n || n.reach !== 'up')
      throw new PostgresUnreachable(
        `${node.name} (${node.host}:${node.port}): connect ECONNREFUSED`,
      );
    return n.role === 'standby';
  }

  async streamsFrom(primary: NodeSpec): Promise<boolean> {
    return this.#pg.streamsFrom(this.#pg.node(this.#name)) === primary.name;
  }

  close(): void {
    this.calls.push('close');
  }
}
