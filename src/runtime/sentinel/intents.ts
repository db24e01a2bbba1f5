/**
 * The leader's intent inbox: the admin API (any sentinel) and the CLI record an operator
 * request as the record `intent` (see intent-client.ts); the cluster loop of the leader calls
 * `poll()` once per tick, which runs it, writes `intent-result:<id>` (TTL 60 s) and deletes
 * the intent. The API only records intent; this loop acts (STYLE.md, Boundaries).
 *
 * - switchover / failback: core plans it (a refusal answers 409), SwitchoverExecutor runs it.
 * - failover: a switchover when the primary is healthy, else a forced failover through the
 *   failover machine (`kind: manual`: no ODOWN quorum, candidate rules kept).
 *
 * It also repairs an orphaned switchover (switchover-repair.ts): a topology left
 * `switching-over` far longer than any switchover may take is settled at the next epoch.
 */
import type { Decision } from '../../core/decide.js';
import type { PgvigilEvent } from '../../core/events.js';
import type { NodeObservation } from '../../core/health.js';
import type { Topology } from '../../core/model.js';
import {
  planFailback,
  type PlanInput,
  planManualFailover,
  planSwitchover,
} from '../../core/switchover.js';
import { RECORDS } from '../../ports/records.js';
import type { IntentDeps } from './deps.js';
import { FailoverExecutor } from './failover-executor.js';
import {
  errorReply,
  type IntentOp,
  type IntentRecord,
  type IntentReply,
  RESULT_TTL_MS,
} from './intent-client.js';
import { SwitchoverExecutor, type SwitchoverResult } from './switchover.js';
import { repairOrphanedSwitchover } from './switchover-repair.js';

const SUCCESS: Record<IntentOp, string> = {
  switchover: 'Switchover completado exitosamente',
  failback: 'Failback completado exitosamente',
  failover: 'Failover completado exitosamente',
};

export interface IntentContext {
  topology: Topology;
  observations: Readonly<Record<string, NodeObservation>>;
}

export class IntentRunner {
  readonly #d: IntentDeps;
  readonly #switchover: SwitchoverExecutor;
  readonly #failover: FailoverExecutor;
  /** replies not yet stored (the store failed right after the run): never run twice */
  readonly #answered = new Map<string, IntentReply>();
  #lastAbort: Extract<PgvigilEvent, { type: 'failover-aborted' }> | null = null;
  #switchingSince: { epoch: number; sinceMono: number } | null = null;

  constructor(deps: IntentDeps) {
    this.#d = deps;
    this.#switchover = new SwitchoverExecutor(deps);
    this.#failover = new FailoverExecutor(deps);
    deps.bus.onEvent((e) => {
      if (e.type === 'failover-aborted' && e.cluster === deps.cluster.name) this.#lastAbort = e;
    });
  }

  /** Run the pending intent, if any. Returns the new topology when it changed. */
  async poll(ctx: IntentContext): Promise<Topology | null> {
    const { store } = this.#d;
    const cluster = this.#d.cluster.name;
    let intent: IntentRecord | null;
    try {
      intent = (await store.getRecord(cluster, RECORDS.intent.name, RECORDS.intent.schema)).value;
    } catch {
      return null; // no majority: nothing may act
    }
    const recovered = await this.#recoverOrphan(ctx, intent);
    if (recovered !== undefined) return recovered;
    if (intent === null) return null;
    const known = this.#answered.get(intent.id);
    if (known) {
      await this.#answer(intent, known);
      return null;
    }
    // A switchover is running (ours would have finished inside this tick): let it end or be repaired.
    if (ctx.topology.state === 'switching-over') return null;
    const { reply, topology } = await this.#run(intent, ctx);
    this.#answered.set(intent.id, reply);
    await this.#answer(intent, reply);
    return topology;
  }

  async #answer(intent: IntentRecord, reply: IntentReply): Promise<void> {
    const cluster = this.#d.cluster.name;
    const result = RECORDS.intentResult(intent.id);
    try {
      await this.#d.store.putRecord(
        cluster,
        result.name,
        { id: intent.id, atWall: this.#d.clock.wall(), ...reply },
        RESULT_TTL_MS,
        result.schema,
      );
      await this.#d.store.deleteRecord(cluster, RECORDS.intent.name, intent.id);
      this.#answered.delete(intent.id);
    } catch (err) {
      this.#d.log.warn(
        { cluster, intent: intent.id, err: (err as Error).message },
        'intent result not stored yet: retrying next tick',
      );
    }
  }

  async #run(
    intent: IntentRecord,
    ctx: IntentContext,
  ): Promise<{ reply: IntentReply; topology: Topology | null }> {
    const { timing, cluster, clock, log } = this.#d;
    const input: PlanInput = {
      cluster,
      timing,
      topology: ctx.topology,
      observations: ctx.observations,
      nowMono: clock.mono(),
    };
    const plan =
      intent.op === 'failback'
        ? planFailback(input)
        : intent.op === 'failover'
          ? planManualFailover(input, intent.to)
          : planSwitchover(input, intent.to ?? '');
    log.info(
      {
        cluster: cluster.name,
        epoch: ctx.topology.epoch,
        intent: intent.id,
        op: intent.op,
        to: intent.to,
        by: intent.requestedBy,
        plan: plan.ok ? `${plan.kind} ${plan.from} -> ${plan.to}` : `refused: ${plan.reason}`,
      },
      `${intent.op} requested`,
    );
    if (!plan.ok) return { reply: errorReply(409, plan.message), topology: null };
    if (plan.kind === 'switchover') {
      const r = await this.#switchover.run(ctx.topology, plan, {
        op: intent.op,
        requestedBy: intent.requestedBy,
      });
      return { reply: this.#reply(intent.op, r, 'switchover'), topology: r.topology };
    }
    const decision: Decision = {
      kind: 'failover',
      reason: 'primary-odown',
      evidence: `${plan.evidence}; requested by ${intent.requestedBy}`,
      vote: null,
      from: plan.from,
      epoch: plan.epoch,
      candidate: plan.to,
      candidates: plan.candidates,
      events: [],
    };
    this.#lastAbort = null;
    const started = clock.mono();
    const after = await this.#failover.run(ctx.topology, decision, ctx.observations, {
      kind: 'manual',
    });
    const durationMs = Math.round(clock.mono() - started);
    if (!after) {
      const why = this.#abortReason() ?? 'see pgvigil events';
      return {
        reply: errorReply(409, `failover ${plan.from} -> ${plan.to} aborted: ${why}`),
        topology: null,
      };
    }
    return {
      reply: {
        code: 200,
        body: {
          status: 'success',
          message: SUCCESS.failover,
          epoch: after.epoch,
          from: plan.from,
          to: after.primary,
          durationMs,
          method: 'forced-failover',
          state: after.state,
        },
      },
      topology: after,
    };
  }

  /** read through a method: TypeScript would keep `#lastAbort` narrowed to null across the await */
  #abortReason(): string | undefined {
    return this.#lastAbort?.reason;
  }

  #reply(op: IntentOp, r: SwitchoverResult, method: string): IntentReply {
    if (!r.ok) return errorReply(r.code, r.message);
    return {
      code: 200,
      body: {
        status: 'success',
        message: SUCCESS[op],
        epoch: r.epoch,
        from: r.from,
        to: r.to,
        durationMs: r.durationMs,
        method,
      },
    };
  }

  /**
   * `undefined`: nothing to repair. Otherwise the repair ran (its topology, or null when the
   * CAS was lost) and any pending intent was answered.
   */
  async #recoverOrphan(
    ctx: IntentContext,
    intent: IntentRecord | null,
  ): Promise<Topology | null | undefined> {
    const { clock, timing } = this.#d;
    const t = ctx.topology;
    if (t.state !== 'switching-over') {
      this.#switchingSince = null;
      return undefined;
    }
    const now = clock.mono();
    if (this.#switchingSince?.epoch !== t.epoch)
      this.#switchingSince = { epoch: t.epoch, sinceMono: now };
    const grace = 2 * timing.switchoverTimeoutMs + timing.promoteTimeoutMs + timing.lockTtlMs;
    if (now - this.#switchingSince.sinceMono < grace) return undefined;

    const why = `switchover of epoch ${t.epoch} orphaned for over ${Math.round(grace / 1000)} s`;
    const next = await repairOrphanedSwitchover(this.#d, t, why);
    if (!next) return null;
    this.#switchingSince = null;
    if (intent) await this.#answer(intent, errorReply(500, `interrupted: ${next.reason}`));
    return next;
  }
}
