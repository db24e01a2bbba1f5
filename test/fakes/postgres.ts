/**
 * In-memory PostgresPort for unit tests of the runtime: a set of scripted nodes (reachability,
 * role, LSNs, upstream, fence, epoch stamp, slots, synchronous_standby_names) probed and
 * controlled as the real adapter would (src/adapters/postgres), held to the same contract
 * (test/contract/postgres.contract.ts).
 *
 * Reachability of a node, as this sentinel sees it:
 * - `up`: answers;
 * - `down`: postgres is not running (probe: `refused`, ECONNREFUSED; control: PostgresUnreachable);
 * - `refused`: running but refusing connections (starting up, shutting down): the same
 *   outcomes as `down`, but the process runs (its agent sees it running, not reachable);
 * - `hung`: SIGSTOPped or partitioned: a probe answers `timeout` after `probeTimeoutMs`
 *   (setTimeout, so fake timers drive it); a control call never settles.
 *
 * Replication is derived, not stored: a running, reachable standby streams from its upstream
 * (its primary_conninfo, set by `repoint` or `configureStandby`) whenever that node runs and
 * the standby has not diverged from it. So taking a primary `down` removes the WAL receiver
 * rows of its standbys, as in a real cluster. `write(node, bytes)` advances a primary's LSN and
 * that of every standby streaming from it.
 *
 * Every control call is recorded twice: `attempts` lists each call with its outcome, `calls`
 * (compact text: `promote pg2`, `stamp pg2 8`, `slot pg2 pg3`, `repoint pg3 -> pg2`, `fence pg1`,
 * `unfence pg1`, `names pg1 'x'`) only those that took effect on the node, in order; `onCall`
 * hears the same lines as they happen (to interleave them with events). Faults are scripted
 * per operation with `fail()`; only microtasks are used unless a latency or hang is scripted.
 */
import { PostgresCommandFailed, PostgresUnreachable } from '../../src/core/errors.js';
import type { NodeRole, ProbeResult, ReplicaStat, WalReceiverStat } from '../../src/core/model.js';
import type { NodeSpec } from '../../src/core/spec.js';
import type { PostgresPort, ProbeOptions } from '../../src/ports/postgres.js';

export type Reach = 'up' | 'down' | 'refused' | 'hung';

export type ControlOp =
  'promote' | 'stampEpoch' | 'ensureSlot' | 'repoint' | 'fence' | 'unfence' | 'setSyncStandbyNames';

/** One node's state. Tests may read and change it directly (`pg.node('pg1').fenced = true`). */
export interface FakeNode {
  spec: NodeSpec;
  reach: Reach;
  role: NodeRole;
  /** primary: pg_current_wal_lsn(); standby: received and replayed LSN */
  lsn: number;
  /** standby: replay behind `lsn` by this much */
  replayLagBytes: number;
  /** primary_conninfo: the node it follows (standby), or null */
  upstream: string | null;
  /** primary_slot_name */
  slot: string | null;
  /** holds WAL its upstream never had (timeline fork): its receiver cannot stream */
  diverged: boolean;
  /** replaces the derived WAL receiver row (null: none) */
  receiver?: Partial<WalReceiverStat> | null;
  /** last message from the sender, as the receiver reports it */
  lastMsgAgeMs: number;
  fenced: boolean;
  /** disk full / stuck I/O: the heartbeat cannot commit (fenced does the same) */
  writeFails: boolean;
  stampedEpoch: number | undefined;
  slots: Set<string>;
  syncStandbyNames: string;
  /** sentinel -> heartbeats committed */
  heartbeats: Map<string, number>;
}

export interface Attempt {
  op: ControlOp;
  node: string;
  args: unknown[];
  /** ok; failed before it took effect; took effect but the answer was lost; never answered */
  outcome: 'ok' | 'failed' | 'lost' | 'hung';
  error?: string;
}

interface Fault {
  op: ControlOp;
  node: string | null;
  when: 'before' | 'after' | 'hang';
  error: ((node: string) => Error) | null;
  times: number;
}

export interface FakePostgresOptions {
  /** a `hung` node's probe answers `timeout` after this long (default 1000) */
  probeTimeoutMs?: number;
  /** every probe takes this long (setTimeout; default 0: microtasks only) */
  probeLatencyMs?: number;
  /** per-operation latency in ms (setTimeout) */
  latencyMs?: Partial<Record<ControlOp, number>>;
}

const LSN = 5_000_000;

export const fakeNode = (spec: NodeSpec, patch: Partial<FakeNode> = {}): FakeNode => ({
  spec,
  reach: 'up',
  role: 'standby',
  lsn: LSN,
  replayLagBytes: 0,
  upstream: null,
  slot: null,
  diverged: false,
  lastMsgAgeMs: 50,
  fenced: false,
  writeFails: false,
  stampedEpoch: undefined,
  slots: new Set(),
  syncStandbyNames: '',
  heartbeats: new Map(),
  ...patch,
});

const sleep = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();

/** Names a synchronous_standby_names value mentions (our format and plain lists). */
function mentioned(value: string): Set<string> {
  const out = new Set<string>();
  for (const m of value.matchAll(/"((?:[^"]|"")+)"|([A-Za-z_][\w$]*)/g)) {
    const name = m[1]?.replace(/""/g, '"') ?? m[2];
    if (name && !/^(FIRST|ANY)$/i.test(name)) out.add(name);
  }
  return out;
}

export class FakePostgres implements PostgresPort {
  readonly nodes = new Map<string, FakeNode>();
  readonly calls: string[] = [];
  readonly attempts: Attempt[] = [];
  readonly probes: { node: string; sentinel: string; heartbeat: boolean }[] = [];
  closed = 0;
  readonly #listeners: ((line: string) => void)[] = [];
  #faults: Fault[] = [];
  readonly #o: Required<Omit<FakePostgresOptions, 'latencyMs'>> & FakePostgresOptions;

  constructor(nodes: readonly (NodeSpec | FakeNode)[] = [], o: FakePostgresOptions = {}) {
    this.#o = { probeTimeoutMs: 1000, probeLatencyMs: 0, ...o };
    for (const n of nodes) {
      const node = 'spec' in n ? n : fakeNode(n);
      this.nodes.set(node.spec.name, node);
    }
  }

  /**
   * A healthy cluster: `primary` (default the first node) writes at LSN 5 000 000, every other
   * node is a caught-up standby streaming from it through a slot named after it.
   */
  static cluster(
    specs: readonly NodeSpec[],
    o: FakePostgresOptions & { primary?: string } = {},
  ): FakePostgres {
    const primary = o.primary ?? specs[0]?.name;
    return new FakePostgres(
      specs.map((spec) =>
        spec.name === primary
          ? fakeNode(spec, {
              role: 'primary',
              slots: new Set(specs.filter((s) => s.name !== primary).map((s) => s.name)),
            })
          : fakeNode(spec, { role: 'standby', upstream: primary ?? null, slot: spec.name }),
      ),
      o,
    );
  }

  node(name: string): FakeNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`fake postgres has no node ${name}`);
    return n;
  }

  /** Hear every call that takes effect, as the line `calls` records. */
  onCall(listener: (line: string) => void): void {
    this.#listeners.push(listener);
  }

  // ---- scripting ------------------------------------------------------------------------

  set(name: string, patch: Partial<FakeNode>): this {
    Object.assign(this.node(name), patch);
    return this;
  }

  /** The node's postgres stops (crash or clean stop): no process, no receiver. */
  down(name: string): this {
    return this.set(name, { reach: 'down' });
  }

  up(name: string): this {
    return this.set(name, { reach: 'up' });
  }

  hang(name: string): this {
    return this.set(name, { reach: 'hung' });
  }

  /** `bytes` of WAL written on primary `name`; standbys streaming from it receive them. */
  write(name: string, bytes: number): this {
    const p = this.node(name);
    if (p.role !== 'primary') throw new Error(`${name} is not a primary`);
    p.lsn += bytes;
    for (const n of this.nodes.values()) if (this.streamsFrom(n) === name) n.lsn = p.lsn;
    return this;
  }

  /**
   * Make `op` fail, on `node` or on every node, `times` times (default: until `clearFaults`):
   * `before` (default) nothing happens and the call throws (PostgresUnreachable unless `error`
   * is given); `after` the call takes effect, then throws (the answer was lost); `hang` the call
   * never settles.
   */
  fail(
    op: ControlOp,
    o: {
      node?: string;
      when?: Fault['when'];
      error?: (node: string) => Error;
      times?: number;
    } = {},
  ): this {
    this.#faults.push({
      op,
      node: o.node ?? null,
      when: o.when ?? 'before',
      error: o.error ?? null,
      times: o.times ?? Infinity,
    });
    return this;
  }

  clearFaults(op?: ControlOp): this {
    this.#faults = op === undefined ? [] : this.#faults.filter((f) => f.op !== op);
    return this;
  }

  // ---- derived replication --------------------------------------------------------------

  #running(n: FakeNode | undefined): boolean {
    return n !== undefined && n.reach !== 'down';
  }

  /** The node `n`'s WAL receiver streams from, or null. */
  streamsFrom(n: FakeNode): string | null {
    if (n.role !== 'standby' || n.reach !== 'up' || n.upstream === null || n.diverged) return null;
    const up = this.nodes.get(n.upstream);
    return this.#running(up) ? n.upstream : null;
  }

  #receiver(n: FakeNode): WalReceiverStat | undefined {
    const from = this.streamsFrom(n);
    const derived: WalReceiverStat | undefined =
      from === null
        ? undefined
        : {
            status: 'streaming',
            senderHost: this.node(from).spec.host,
            senderPort: this.node(from).spec.port,
            lastMsgAgeMs: n.lastMsgAgeMs,
            receivedLsn: n.lsn,
          };
    if (n.receiver === undefined) return derived;
    if (n.receiver === null) return undefined;
    return {
      status: 'streaming',
      senderHost: null,
      senderPort: null,
      lastMsgAgeMs: n.lastMsgAgeMs,
      receivedLsn: n.lsn,
      ...derived,
      ...n.receiver,
    };
  }

  #replicas(p: FakeNode): ReplicaStat[] {
    const sync = mentioned(p.syncStandbyNames);
    return [...this.nodes.values()]
      .filter((n) => this.streamsFrom(n) === p.spec.name)
      .sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1))
      .map((n) => ({
        name: n.spec.name,
        state: 'streaming',
        syncState: sync.has(n.spec.name) ? 'sync' : 'async',
        sentLsn: n.lsn,
        replayLsn: n.lsn - n.replayLagBytes,
        lagBytes: Math.max(0, p.lsn - (n.lsn - n.replayLagBytes)),
        replayLagSeconds: n.replayLagBytes > 0 ? 1 : 0,
      }));
  }

  // ---- PostgresPort ---------------------------------------------------------------------

  async probe(spec: NodeSpec, opts: ProbeOptions): Promise<ProbeResult> {
    const start = opts.nowMono();
    this.probes.push({ node: spec.name, sentinel: opts.sentinel, heartbeat: opts.heartbeat });
    await sleep(this.#o.probeLatencyMs);
    const n = this.nodes.get(spec.name);
    const done = (r: Omit<ProbeResult, 'node' | 'atMono' | 'durationMs'>): ProbeResult => {
      const atMono = opts.nowMono();
      return { node: spec.name, atMono, durationMs: atMono - start, ...r };
    };
    if (n === undefined || n.reach === 'down')
      return done({ ok: false, failure: 'refused', message: 'connect: connect ECONNREFUSED' });
    if (n.reach === 'refused')
      return done({
        ok: false,
        failure: 'refused',
        message: 'connect: the database system is shutting down',
      });
    if (n.reach === 'hung') {
      await sleep(this.#o.probeTimeoutMs);
      return done({ ok: false, failure: 'timeout', message: 'query: Query read timeout' });
    }
    const common = {
      replicas: this.#replicas(n),
      ...(n.stampedEpoch === undefined ? {} : { stampedEpoch: n.stampedEpoch }),
    };
    if (n.role === 'primary') {
      if (opts.heartbeat) {
        if (n.fenced || n.writeFails)
          return done({
            ok: false,
            failure: 'write-failed',
            role: 'primary',
            message: n.fenced
              ? 'heartbeat failed: cannot execute INSERT in a read-only transaction'
              : 'heartbeat failed: could not extend file: No space left on device',
          });
        n.heartbeats.set(opts.sentinel, (n.heartbeats.get(opts.sentinel) ?? 0) + 1);
      }
      return done({
        ok: true,
        role: 'primary',
        currentLsn: n.lsn,
        ...common,
        syncStandbyNames: n.syncStandbyNames,
      });
    }
    const walReceiver = this.#receiver(n);
    const replayedLsn = n.lsn - n.replayLagBytes;
    return done({
      ok: true,
      role: 'standby',
      currentLsn: n.lsn,
      receivedLsn: n.lsn,
      replayedLsn,
      lagSeconds: n.replayLagBytes > 0 ? 1 : 0,
      ...(walReceiver ? { walReceiver } : {}),
      ...common,
    });
  }

  promote(node: NodeSpec, timeoutMs: number): Promise<void> {
    return this.#control('promote', node, [timeoutMs], `promote ${node.name}`, (n) => {
      if (n.role === 'primary') return; // a retried promote: already done
      n.role = 'primary';
      n.replayLagBytes = 0;
    });
  }

  stampEpoch(node: NodeSpec, epoch: number, primary: string): Promise<void> {
    return this.#control(
      'stampEpoch',
      node,
      [epoch, primary],
      `stamp ${node.name} ${epoch}`,
      (n) => {
        if (n.role !== 'primary' || n.fenced)
          throw new PostgresCommandFailed(
            `stampEpoch ${node.name}: cannot execute INSERT in a read-only transaction [25006]`,
          );
        if (n.stampedEpoch !== undefined && n.stampedEpoch > epoch)
          throw new PostgresCommandFailed(
            `stampEpoch ${node.name}: the node is stamped with an epoch higher than ${epoch}`,
          );
        n.stampedEpoch = epoch;
        // the stamp is a table row: streaming standbys replay it
        for (const s of this.nodes.values())
          if (this.streamsFrom(s) === n.spec.name) s.stampedEpoch = epoch;
      },
    );
  }

  ensureSlot(node: NodeSpec, slot: string): Promise<void> {
    return this.#control('ensureSlot', node, [slot], `slot ${node.name} ${slot}`, (n) => {
      n.slots.add(slot);
    });
  }

  repoint(node: NodeSpec, primary: NodeSpec, slot: string): Promise<void> {
    const line = `repoint ${node.name} -> ${primary.name}`;
    return this.#control('repoint', node, [primary.name, slot], line, (n) => {
      n.upstream = primary.name;
      n.slot = slot || null;
    });
  }

  fence(node: NodeSpec): Promise<void> {
    return this.#control('fence', node, [], `fence ${node.name}`, (n) => {
      n.fenced = true;
    });
  }

  unfence(node: NodeSpec): Promise<void> {
    return this.#control('unfence', node, [], `unfence ${node.name}`, (n) => {
      n.fenced = false;
    });
  }

  setSyncStandbyNames(node: NodeSpec, value: string): Promise<void> {
    const line = `names ${node.name} '${value}'`;
    return this.#control('setSyncStandbyNames', node, [value], line, (n) => {
      if (n.role !== 'primary')
        throw new PostgresCommandFailed(
          `setSyncStandbyNames ${node.name}: the node is in recovery, not a primary`,
        );
      n.syncStandbyNames = value;
    });
  }

  async close(): Promise<void> {
    this.closed++;
  }

  // ---- the one path of every control call -----------------------------------------------

  #fault(op: ControlOp, node: string): Fault | null {
    const f = this.#faults.find((x) => x.op === op && (x.node === null || x.node === node));
    if (!f) return null;
    if (--f.times <= 0) this.#faults = this.#faults.filter((x) => x !== f);
    return f;
  }

  async #control(
    op: ControlOp,
    spec: NodeSpec,
    args: unknown[],
    line: string,
    effect: (n: FakeNode) => void,
  ): Promise<void> {
    const attempt: Attempt = { op, node: spec.name, args, outcome: 'ok' };
    this.attempts.push(attempt);
    const failed = (err: Error): Error => {
      attempt.outcome = attempt.outcome === 'ok' ? 'failed' : attempt.outcome;
      attempt.error = err.message;
      return err;
    };
    await sleep(this.#o.latencyMs?.[op] ?? 0);
    const n = this.nodes.get(spec.name);
    const fault = this.#fault(op, spec.name);
    if (n?.reach === 'hung' || fault?.when === 'hang') {
      attempt.outcome = 'hung';
      return new Promise<void>(() => undefined);
    }
    if (n === undefined || n.reach === 'down' || n.reach === 'refused')
      throw failed(
        new PostgresUnreachable(
          `${op} ${spec.name} (${spec.host}:${spec.port}): connect: connect ECONNREFUSED`,
        ),
      );
    const faultError = (): Error =>
      fault?.error?.(spec.name) ??
      new PostgresUnreachable(
        `${op} ${spec.name} (${spec.host}:${spec.port}): ${fault?.when === 'after' ? 'Connection terminated unexpectedly' : 'connect: connect ECONNREFUSED'}`,
      );
    if (fault?.when === 'before') throw failed(faultError());
    try {
      effect(n);
    } catch (err) {
      throw failed(err as Error);
    }
    this.calls.push(line);
    for (const l of this.#listeners) l(line);
    if (fault?.when === 'after') {
      attempt.outcome = 'lost';
      throw failed(faultError());
    }
  }
}
