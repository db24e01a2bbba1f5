/**
 * PostgresPort over node-postgres. Probes keep one session per node (host:port), reconnecting
 * only after a failure; control calls open their own short-lived session. See ports/postgres.ts.
 */
import type { NodeSpec, ProbeResult, SlotView } from '../../core/model.js';
import { redactSecrets } from '../../core/redact.js';
import type { PgTls } from '../../core/tls.js';
import type { PostgresPort, ProbeOptions } from '../../ports/postgres.js';
import type { SlotControl } from '../../ports/slots.js';
import * as control from './control.js';
import { controlError, errMessage, probeFailure } from './errors.js';
import { PROBE_HANDSHAKES } from './handshakes.js';
import { hardFence, hardUnfence } from './hard-fence.js';
import { type NodeMemo, probeNode, WriteFailed } from './probe.js';
import { Session } from './session.js';
import * as slots from './slots.js';
import { classifyTimeout, readOnlyCheck } from './stuck.js';

export interface PgAdapterOptions {
  user: string;
  password: string;
  database: string;
  connectTimeoutMs: number;
  /** client-side probe query timeout: keep it well under downAfterMs */
  queryTimeoutMs: number;
  /** written into primary_conninfo by `repoint` */
  replication: { user: string; password: string; tls?: PgTls | undefined };
  /** clusters[].tls of every session (absent: no TLS) */
  tls?: PgTls | undefined;
  applicationName: string;
  /** query timeout of control statements other than promote (default 15 s) */
  controlTimeoutMs?: number;
}

const PROMOTE_MARGIN_MS = 5000;
const DEFAULT_CONTROL_TIMEOUT_MS = 15_000;

const keyOf = (node: NodeSpec): string => `${node.host}:${node.port}`;

export class PgAdapter implements PostgresPort, SlotControl {
  readonly #opts: PgAdapterOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #memos = new Map<string, NodeMemo>();
  /** probes of one node never overlap (one session, one query at a time) */
  readonly #queues = new Map<string, Promise<unknown>>();
  /**
   * listSlots' idle session per node, kept between two slot checks (SLOT_CHECK_EVERY_MS): a new
   * session per check cost each cluster a connect and a SCRAM exchange on both sides every few
   * seconds, the largest steady cost of a sentinel watching hundreds of nodes (bench:scale).
   * Read-only queries only; every other control call keeps its own short-lived session.
   */
  readonly #readers = new Map<string, Session>();
  #closed = false;

  constructor(opts: PgAdapterOptions) {
    this.#opts = opts;
  }

  #params(node: NodeSpec, queryTimeoutMs: number) {
    const o = this.#opts;
    return {
      host: node.host,
      port: node.port,
      user: o.user,
      password: o.password,
      database: o.database,
      applicationName: o.applicationName,
      connectTimeoutMs: o.connectTimeoutMs,
      queryTimeoutMs,
      tls: o.tls,
    };
  }

  async #session(node: NodeSpec): Promise<Session> {
    const key = keyOf(node);
    const open = this.#sessions.get(key);
    if (open && !open.dead) return open;
    this.#sessions.delete(key);
    const params = this.#params(node, this.#opts.queryTimeoutMs);
    const s = await PROBE_HANDSHAKES.run(() => Session.open(params));
    this.#sessions.set(key, s);
    return s;
  }

  #drop(node: NodeSpec): void {
    const key = keyOf(node);
    this.#sessions.get(key)?.destroy();
    this.#sessions.delete(key);
  }

  probe(node: NodeSpec, opts: ProbeOptions): Promise<ProbeResult> {
    const key = keyOf(node);
    const run = (this.#queues.get(key) ?? Promise.resolve()).then(() => this.#probe(node, opts));
    this.#queues.set(key, run);
    return run;
  }

  async #probe(node: NodeSpec, opts: ProbeOptions): Promise<ProbeResult> {
    const start = opts.nowMono();
    const key = keyOf(node);
    let memo = this.#memos.get(key);
    if (!memo) this.#memos.set(key, (memo = { withEpoch: true }));
    let phase = 'connect';
    try {
      const s = await this.#session(node);
      phase = 'query';
      const data = await probeNode(s, memo, opts);
      const atMono = opts.nowMono();
      return { node: node.name, ok: true, atMono, durationMs: atMono - start, ...data };
    } catch (err) {
      const atMono = opts.nowMono();
      const base = { node: node.name, ok: false, atMono, durationMs: atMono - start };
      // the session is fine: the node answered that it cannot commit
      if (err instanceof WriteFailed)
        return { ...base, failure: 'write-failed', message: err.message, role: 'primary' };
      this.#drop(node);
      const failure = probeFailure(err);
      const message = `${phase}: ${errMessage(err)}`;
      // connected, then the query hung: a stuck commit, or a node gone mid-query (stuck.ts)
      if (failure !== 'timeout' || phase !== 'query') return { ...base, failure, message };
      return this.#hung(node, opts, memo, start, message);
    }
  }

  /** A probe whose query timed out: write-failed when the heartbeat hung but reads answer. */
  async #hung(
    node: NodeSpec,
    opts: ProbeOptions,
    memo: NodeMemo,
    start: number,
    message: string,
  ): Promise<ProbeResult> {
    const o = this.#opts;
    const budgetMs = o.connectTimeoutMs + o.queryTimeoutMs - (opts.nowMono() - start);
    const r = await classifyTimeout({
      heartbeat: opts.heartbeat && memo.role !== 'standby',
      budgetMs,
      message,
      check: (ms) => readOnlyCheck(this.#params(node, o.queryTimeoutMs), ms),
    });
    const atMono = opts.nowMono();
    return {
      node: node.name,
      ok: false,
      atMono,
      durationMs: atMono - start,
      ...r,
      ...(r.failure === 'write-failed' ? { role: 'primary' as const } : {}),
    };
  }

  async #control(
    node: NodeSpec,
    op: string,
    queryTimeoutMs: number,
    fn: (q: control.Q, where: string) => Promise<void>,
  ): Promise<void> {
    const where = `${op} ${node.name} (${keyOf(node)})`;
    const s = await this.#open(node, where, queryTimeoutMs);
    try {
      await fn(controlQuery(s, where), where);
    } finally {
      await s.close();
    }
  }

  /**
   * A read-only control call on the node's kept session (`#readers`), opened when there is
   * none or it died; kept after a success, closed after any failure. A call that finds the
   * session in use (another caller of the same node) opens one of its own.
   */
  async #read(
    node: NodeSpec,
    op: string,
    fn: (q: control.Q, where: string) => Promise<void>,
  ): Promise<void> {
    const key = keyOf(node);
    const where = `${op} ${node.name} (${key})`;
    const kept = this.#readers.get(key);
    this.#readers.delete(key);
    const s = kept && !kept.dead ? kept : await this.#open(node, where, this.#controlTimeout);
    try {
      await fn(controlQuery(s, where), where);
    } catch (err) {
      await s.close();
      throw err;
    }
    if (this.#closed || this.#readers.has(key)) await s.close();
    else this.#readers.set(key, s);
  }

  async #open(node: NodeSpec, where: string, queryTimeoutMs: number): Promise<Session> {
    try {
      return await Session.open(this.#params(node, queryTimeoutMs));
    } catch (err) {
      throw controlError(`${where}: connect`, err);
    }
  }

  get #controlTimeout(): number {
    return this.#opts.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS;
  }

  promote(node: NodeSpec, timeoutMs: number): Promise<void> {
    return this.#control(node, 'promote', timeoutMs + PROMOTE_MARGIN_MS, (q, where) =>
      control.promote(q, where, timeoutMs),
    );
  }

  stampEpoch(node: NodeSpec, epoch: number, primary: string): Promise<void> {
    return this.#control(node, 'stampEpoch', this.#controlTimeout, (q, where) =>
      control.stampEpoch(q, where, epoch, primary),
    );
  }

  ensureSlot(node: NodeSpec, slot: string): Promise<void> {
    return this.#control(node, 'ensureSlot', this.#controlTimeout, (q) =>
      control.ensureSlot(q, slot),
    );
  }

  repoint(node: NodeSpec, primary: NodeSpec, slot: string): Promise<void> {
    return this.#control(node, 'repoint', this.#controlTimeout, (q) =>
      control.repoint(q, node, primary, slot, this.#opts.replication),
    );
  }

  fence(node: NodeSpec): Promise<void> {
    return this.#control(node, 'fence', this.#controlTimeout, (q, where) =>
      control.fence(q, where),
    );
  }

  unfence(node: NodeSpec): Promise<void> {
    return this.#control(node, 'unfence', this.#controlTimeout, (q, where) =>
      control.unfence(q, where),
    );
  }

  /** The operator's fence (hard-fence.ts); connect this adapter to template1 to unfence. */
  async operatorFence(node: NodeSpec): Promise<{ databases: string[] }> {
    let out = { databases: [] as string[] };
    await this.#control(node, 'fence', this.#controlTimeout, async (q, where) => {
      out = await hardFence(q, where);
    });
    return out;
  }

  async operatorUnfence(node: NodeSpec): Promise<{ databases: string[] }> {
    let out = { databases: [] as string[] };
    await this.#control(node, 'unfence', this.#controlTimeout, async (q) => {
      out = await hardUnfence(q);
    });
    return out;
  }

  setSyncStandbyNames(node: NodeSpec, value: string): Promise<void> {
    return this.#control(node, 'setSyncStandbyNames', this.#controlTimeout, (q, where) =>
      control.setSyncStandbyNames(q, where, value),
    );
  }

  listSlots(node: NodeSpec): Promise<SlotView[]> {
    let out: SlotView[] = [];
    return this.#read(node, 'listSlots', async (q) => {
      out = await slots.listSlots(q);
    }).then(() => out);
  }

  dropSlot(node: NodeSpec, slot: string): Promise<boolean> {
    let dropped = false;
    return this.#control(node, 'dropSlot', this.#controlTimeout, async (q) => {
      dropped = await slots.dropSlot(q, slot);
    }).then(() => dropped);
  }

  setSlotWalKeepSize(node: NodeSpec, size: string): Promise<boolean> {
    let changed = false;
    return this.#control(node, 'setSlotWalKeepSize', this.#controlTimeout, async (q) => {
      changed = await slots.setSlotWalKeepSize(q, size);
    }).then(() => changed);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#sessions.values(), ...this.#readers.values()];
    this.#sessions.clear();
    this.#readers.clear();
    await Promise.all(all.map((s) => s.close()));
  }
}

/** One control statement string on `s`; a failure names the node and the step. */
function controlQuery(s: Session, where: string): control.Q {
  return async (sql) => {
    try {
      const rs = await s.query(sql);
      return rs[rs.length - 1]!;
    } catch (err) {
      // the step's first words name it; a repoint's conninfo carries a password: redacted
      const step = redactSecrets(sql.split('\n')[0]!).slice(0, 60);
      throw controlError(`${where}: ${step}`, err);
    }
  };
}
