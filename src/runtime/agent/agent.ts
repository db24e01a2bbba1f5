/**
 * The node agent (`pgvigil agent`): one loop per node, beside its postgres.
 *
 * observe: the topology from a Redis majority (one read) and the local postgres (process
 *          state + one query on a persistent local session), in parallel; the leader's
 *          verdict only for a crashed primary;
 * decide:  core `decideAgent()` on that snapshot (pure);
 * act:     at most one action at a time, run beside the loop (a rejoin may take minutes; the
 *          loop goes on observing and serving health). Destructive actions re-read the
 *          topology just before they run and give up when the epoch moved on.
 * The API's `/stop` and `/start` (switchover) take the same single action slot.
 */
import { decideAgent, needsVerdict } from '../../core/agent/decide.js';
import type {
  AgentDecision,
  AgentSnapshot,
  LocalObservation,
  Verdict,
} from '../../core/agent/model.js';
import { CoordinationUnavailable, UserError } from '../../core/errors.js';
import type { Topology } from '../../core/model.js';
import type { NodeSpec } from '../../core/spec.js';
import { RECORDS } from '../../ports/records.js';
import { LoopTimer } from '../loop-timer.js';
import { actionFor } from './actions.js';
import type { AgentDeps } from './deps.js';
import { LeaseWatchdog } from './lease-watchdog.js';
import { type AgentStatus, agentStatus, type Check, primaryCheck, replicaCheck } from './views.js';

/** After a failed action, wait this long before acting again (a broken rejoin must not spin). */
const RETRY_AFTER_MS = 5000;
const FAST_INTERVAL_MS = 50;
/** the guard (`#armGuard`) beats after this many intervals without a beat */
const GUARD_INTERVALS = 1.2;
/** health: the loop completed within this many intervals */
const HEALTH_INTERVALS = 3;

export class Agent {
  readonly #d: AgentDeps;
  readonly #self: NodeSpec;
  #topology: Topology | null = null;
  #coordinationOk = false;
  #coordinationError: string | null = null;
  #lastConfirmMono: number;
  #local: LocalObservation | null = null;
  #verdict: Verdict | null = null;
  #decision: AgentDecision | null = null;
  #action: { kind: string; since: number } | null = null;
  #actionDone: Promise<void> = Promise.resolve();
  #retryAfterMono = 0;
  #lastTickMono: number | null = null;
  readonly #timer: LoopTimer;
  readonly #watchdog: LeaseWatchdog;
  /** beats and renews the lease while a tick waits on the local postgres (`#armGuard`) */
  #guard: NodeJS.Timeout | undefined;
  #running = false;
  /** the renewal read in flight (the watchdog awaits it after a pause) */
  #renewing: Promise<void> | null = null;
  /** when the loop last beat (a tick start or the guard), and when it beat after a pause (clock.mono) */
  #beatMono = 0;
  #wokeMono = Number.NEGATIVE_INFINITY;

  constructor(d: AgentDeps) {
    this.#d = d;
    const n = d.cluster.nodes.find((x) => x.name === d.node);
    if (!n) throw new UserError(`node ${d.node} is not in cluster ${d.cluster.name}`);
    this.#self = n;
    // a fresh agent gives its primary one lease before fencing it without a confirmation
    this.#lastConfirmMono = d.clock.mono();
    this.#watchdog = new LeaseWatchdog({
      cluster: d.cluster.name,
      node: d.node,
      leaseMs: d.timing.leaseMs,
      clock: d.clock,
      process: d.process,
      // after a pause of this process, one renewal read before a fence (lease-watchdog.ts)
      recheck: () => this.#renewLease(),
      pauseMs: d.timing.agentIntervalMs,
      pausedSince: (mono) => this.#pausedSince(mono),
      bus: d.bus,
      log: d.log,
    });
    this.#timer = new LoopTimer({
      clock: d.clock,
      tick: () => this.tick(),
      // from the start of the tick, so that the next tick is due before the Redis command
      // timers of this one (redisTimeoutMs, the interval by default) would wake the process
      nextDelayMs: (elapsed) => this.#interval() - elapsed,
      onError: (err) => d.log.error({ ...this.#ctx, err }, 'agent tick failed (bug): loop goes on'),
    });
  }

  get #ctx() {
    return { cluster: this.#d.cluster.name, node: this.#d.node, epoch: this.#topology?.epoch };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#beatMono = this.#d.clock.mono();
    this.#armGuard();
    this.#timer.start();
  }

  /** A beat (tick start, guard): a gap of two intervals or more means this process was paused. */
  #beat(): void {
    const now = this.#d.clock.mono();
    if (now - this.#beatMono >= 2 * this.#d.timing.agentIntervalMs) this.#wokeMono = now;
    this.#beatMono = now;
    this.#armGuard();
  }

  /**
   * The guard fires when no beat came for GUARD_INTERVALS intervals: inside a tick that waits
   * on the local postgres (it beats and renews the lease), never between ticks, which start
   * every interval. It is re-armed on every beat; a free-running renewal timer woke an idle
   * agent a second time per tick (`bench:idle`). Not unref'd: Node keeps the timer list of an
   * unref'd timer after clearTimeout, with its old due time, and that list wakes the process
   * for nothing; stop() clears it.
   */
  #armGuard(): void {
    clearTimeout(this.#guard);
    if (!this.#running) return;
    this.#guard = setTimeout(() => {
      this.#beat();
      void this.#renewLease();
    }, GUARD_INTERVALS * this.#d.timing.agentIntervalMs);
  }

  /** Paused after `mono`: it woke since then, or its beats are overdue right now. */
  #pausedSince(mono: number): boolean {
    if (!this.#running) return false;
    const overdue = this.#d.clock.mono() - this.#beatMono >= 2 * this.#d.timing.agentIntervalMs;
    return overdue || this.#wokeMono > mono;
  }

  /**
   * The lease renewed outside the tick. A tick waits for the local observation, and a hung
   * postgres (SIGSTOP, an I/O stall) holds it for the observer's timeouts: the tick's own read
   * would then come too late and the watchdog would stop a primary that a Redis majority still
   * names, turning a stall of `leaseMs` into a failover that `downAfterMs` was set to ride out.
   * Same rule as the tick: a read confirms only when it names us, from when it was sent.
   */
  #renewLease(): Promise<void> {
    const { clock, timing, node } = this.#d;
    if (this.#renewing) return this.#renewing;
    if (this.#topology?.primary !== node) return Promise.resolve();
    if (clock.mono() - this.#lastConfirmMono < timing.agentIntervalMs) return Promise.resolve(); // ticks confirm
    this.#renewing = this.#renewRead().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  async #renewRead(): Promise<void> {
    const { store, clock, cluster, node } = this.#d;
    const readStart = clock.mono();
    try {
      const t = (await store.readTopology(cluster.name)).value;
      if (t?.primary !== node || t.epoch < (this.#topology?.epoch ?? 0)) return;
      if (this.#d.process.state().frozen) return; // see tick(): a frozen primary is not renewed
      this.#lastConfirmMono = Math.max(this.#lastConfirmMono, readStart);
      this.#watchdog.renew(this.#lastConfirmMono);
    } catch {
      // no majority answered: no confirmation, the watchdog decides
    }
  }

  /** Stop looping; an action in flight may finish within `graceMs`. Postgres keeps running. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#running = false;
    clearTimeout(this.#guard);
    this.#guard = undefined;
    await this.#timer.stop();
    await this.#watchdog.stop();
    // unref'd: a finished action must not keep the process alive for the rest of the grace
    await Promise.race([this.#actionDone, new Promise((r) => setTimeout(r, graceMs).unref())]);
    this.#d.observer.close();
  }

  /**
   * A primary without a Redis majority loops faster: once Redis answers again it must unfence
   * (or learn it was demoted) before the sentinels, back too, judge it unwritable.
   */
  #interval(): number {
    const every = this.#d.timing.agentIntervalMs;
    const isolatedPrimary = !this.#coordinationOk && this.#local?.role === 'primary';
    return isolatedPrimary ? Math.min(every, FAST_INTERVAL_MS) : every;
  }

  /** One observe -> decide -> act cycle (the action is started, not awaited). Public for tests. */
  async tick(): Promise<AgentDecision> {
    const { store, clock, cluster, timing } = this.#d;
    if (this.#running) this.#beat();
    const readStart = clock.mono();
    const [topo, local] = await Promise.all([
      store.readTopology(cluster.name).then(
        (r) => ({ ok: true as const, value: r.value }),
        (err: Error) => ({ ok: false as const, error: err.message }),
      ),
      this.#d.observer.observe(),
    ]);
    this.#noteCoordination(topo.ok ? null : topo.error);
    if (
      topo.ok &&
      topo.value &&
      (this.#topology === null || topo.value.epoch >= this.#topology.epoch)
    )
      this.#topology = topo.value;
    // the lease counts from when the confirming read was sent, not from its answer. A frozen
    // postmaster (SIGSTOP: /proc state T) is not renewed: the sentinels count it down from the
    // moment it froze, so its lease must run out from then too, and the watchdog SIGKILLs it
    // before they can promote another node; renewed until the failover, it would wake into a
    // cluster with a new primary and acknowledge writes until this loop demoted it (the fault
    // runner found 45-86 ms: seed 20261203, `stop-primary`).
    if (topo.ok && this.#topology?.primary === this.#d.node && !this.#d.process.state().frozen)
      this.#lastConfirmMono = Math.max(this.#lastConfirmMono, readStart);
    this.#local = local;
    this.#watchdog.arm({
      lastConfirmMono: this.#lastConfirmMono,
      primary:
        this.#d.unsafeSkipLease !== true && // TEST-ONLY switch (deps.ts): no lease watchdog
        this.#topology?.primary === this.#d.node &&
        local.running &&
        // a live postmaster that does not answer (hung, SIGSTOPped) and has no standby.signal
        // may still be a primary: keep its lease armed, or it acknowledges writes on waking
        // after the sentinels promoted another node (found by the fault runner, seed 20261203)
        (local.role === 'primary' || (!local.reachable && !local.standbySignal)),
      epoch: this.#topology?.epoch ?? 0,
    });
    const base: Omit<AgentSnapshot, 'verdict'> = {
      node: this.#d.node,
      nowMono: clock.mono(),
      nowWall: clock.wall(),
      // TEST-ONLY switch (deps.ts): a lease that never runs out, so `lease-expired` never fences
      timing: this.#d.unsafeSkipLease ? { ...timing, leaseMs: Number.POSITIVE_INFINITY } : timing,
      topology: this.#topology,
      coordinationOk: topo.ok,
      lastConfirmMono: this.#lastConfirmMono,
      local,
    };
    this.#verdict = needsVerdict(base) ? await this.#readVerdict() : null;
    const decision = decideAgent({ ...base, verdict: this.#verdict });
    this.#logChange(decision);
    this.#decision = decision;
    if (this.#action === null && clock.mono() >= this.#retryAfterMono) this.#act(decision);
    this.#lastTickMono = clock.mono();
    return decision;
  }

  async #readVerdict(): Promise<Verdict | null> {
    try {
      const { name, schema } = RECORDS.verdict;
      return (await this.#d.store.getRecord(this.#d.cluster.name, name, schema)).value;
    } catch {
      return null;
    }
  }

  #noteCoordination(error: string | null): void {
    if ((error === null) !== (this.#coordinationError === null) || this.#lastTickMono === null) {
      if (error === null) this.#d.log.info(this.#ctx, 'coordination majority reachable');
      else this.#d.log.warn({ ...this.#ctx, err: error }, 'no coordination majority');
    }
    this.#coordinationOk = error === null;
    this.#coordinationError = error;
  }

  #logChange(d: AgentDecision): void {
    const prev = this.#decision;
    if (prev && prev.kind === d.kind && prev.reason === d.reason) return;
    const level = d.kind === 'none' ? 'info' : d.kind === 'wait' ? 'info' : 'warn';
    this.#d.log[level](
      { ...this.#ctx, decision: d.kind, reason: d.reason, evidence: d.evidence },
      `${d.kind}: ${d.reason}`,
    );
  }

  /** Runs `work` in the single action slot; a failure is logged and delays the next action. */
  #run(kind: string, work: () => Promise<void>): Promise<void> {
    this.#action = { kind, since: this.#d.clock.mono() };
    const done = work()
      .catch((err: Error) => {
        this.#retryAfterMono = this.#d.clock.mono() + RETRY_AFTER_MS;
        this.#d.log.error({ ...this.#ctx, action: kind, err: err.message }, `${kind} failed`);
        throw err;
      })
      .finally(() => {
        this.#action = null;
      });
    this.#actionDone = done.catch(() => undefined);
    return done;
  }

  #act(d: AgentDecision): void {
    const epoch = this.#topology?.epoch;
    const log = () =>
      this.#d.log.child({ cluster: this.#d.cluster.name, node: this.#d.node, epoch });
    const work = actionFor(d, {
      cluster: this.#d.cluster,
      node: this.#d.node,
      keepOldDataDirs: this.#d.keepOldDataDirs,
      store: this.#d.store,
      pg: this.#d.pg,
      bus: this.#d.bus,
      clock: this.#d.clock,
      process: this.#d.process,
      observer: this.#d.observer,
      self: this.#self,
      running: this.#local?.running ?? false,
      reachable: this.#local?.reachable ?? false,
      // a getter: most ticks have nothing to do, and a pino child per tick was idle garbage
      get log() {
        return log();
      },
    });
    if (work) void this.#run(`${d.kind}:${d.reason}`, work).catch(() => undefined);
  }

  // ---- API: health views and the switchover calls --------------------------------------

  health(): { ok: boolean; lastTickAgoMs: number | null } {
    const ago =
      this.#lastTickMono === null ? null : Math.round(this.#d.clock.mono() - this.#lastTickMono);
    // a tick waiting out its bounded I/O (Redis or postgres timing out) still makes progress
    const t = this.#d.timing;
    const limit =
      HEALTH_INTERVALS * t.agentIntervalMs + Math.max(t.redisTimeoutMs, this.#d.observeTimeoutMs);
    return { ok: ago !== null && ago <= limit, lastTickAgoMs: ago };
  }

  primary(): Check {
    const unconfirmedMs = this.#d.clock.mono() - this.#lastConfirmMono;
    return primaryCheck(this.#d.node, this.health().ok, this.#local, this.#topology, {
      unconfirmedMs,
      leaseMs: this.#d.timing.leaseMs,
    });
  }

  replica(maxLagBytes: number | undefined): Check {
    return replicaCheck(this.health().ok, this.#local, maxLagBytes);
  }

  status(): AgentStatus {
    return agentStatus({
      node: this.#d.node,
      cluster: this.#d.cluster.name,
      health: this.health(),
      topology: this.#topology,
      coordinationOk: this.#coordinationOk,
      coordinationError: this.#coordinationError,
      lastConfirmAgoMs: Math.round(this.#d.clock.mono() - this.#lastConfirmMono),
      local: this.#local,
      verdict: this.#verdict,
      decision: this.#decision,
      action: this.#action && {
        kind: this.#action.kind,
        forMs: Math.round(this.#d.clock.mono() - this.#action.since),
      },
    });
  }

  /** POST /stop: a clean stop for a switchover of `epoch` (409 unless the topology says so). */
  async stopForSwitchover(
    epoch: number,
  ): Promise<{ checkpointLsn: number; checkpointLsnText: string; timeline: number }> {
    await this.#switchoverGate(epoch, ['switching-over'], '/stop');
    let out = { checkpointLsn: 0, checkpointLsnText: '', timeline: 0 };
    await this.#run('switchover-stop', async () => {
      await this.#d.process.stop('fast');
      const c = await this.#d.process.controlData();
      if (c.state !== 'shut down')
        throw new Error(
          `postgres did not shut down cleanly (pg_controldata: ${c.state}): no final LSN to hand over`,
        );
      out = {
        checkpointLsn: c.checkpointLsn,
        checkpointLsnText: c.checkpointLsnText,
        timeline: c.timeline,
      };
      this.#d.log.warn(
        { ...this.#ctx, epoch, checkpoint: c.checkpointLsnText },
        'stopped cleanly for a switchover',
      );
    });
    return out;
  }

  /** POST /start: an aborted switchover of `epoch` restarts the old primary as it was. */
  async startAfterAbort(epoch: number): Promise<{ pid: number | null; alreadyRunning: boolean }> {
    await this.#switchoverGate(epoch, ['switching-over', 'ok'], '/start');
    if (this.#d.process.state().running)
      return { pid: this.#d.process.state().pid, alreadyRunning: true };
    let pid: number | null = null;
    await this.#run('switchover-start', async () => {
      pid = await this.#d.process.start();
      this.#d.log.warn({ ...this.#ctx, epoch }, 'restarted after an aborted switchover');
    });
    return { pid, alreadyRunning: false };
  }

  async #switchoverGate(epoch: number, states: Topology['state'][], what: string): Promise<void> {
    const t = (
      await this.#d.store.readTopology(this.#d.cluster.name).catch((err: Error) => {
        throw new CoordinationUnavailable(`no coordination majority: ${err.message}`);
      })
    ).value;
    const node = this.#d.node;
    if (!t || t.epoch !== epoch || !states.includes(t.state) || t.primary !== node)
      throw new UserError(
        `refusing ${what} for epoch ${epoch}: the topology is epoch ${t?.epoch ?? 'none'}, state ${t?.state ?? 'none'}, primary ${t?.primary ?? 'none'} (needs epoch ${epoch}, state ${states.join('|')}, primary ${node})`,
      );
    // checked after the read: the loop may have started an action meanwhile
    if (this.#action)
      throw new UserError(`busy: ${this.#action.kind} is running; retry ${what} later`);
  }
}
