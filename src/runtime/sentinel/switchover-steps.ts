/**
 * The steps of a switchover (switchover.ts), each bounded and each re-checking what it
 * must: the epoch before destructive steps (a lock is not a fence), the leader lock while
 * waiting. A step that must make the switchover roll back throws `Abort` with a reason code.
 */
import { AgentRefused, PostgresUnreachable } from '../../core/errors.js';
import { formatMs } from '../../core/format.js';
import type { NodeSpec, ProbeResult, Topology } from '../../core/model.js';
import { replayedPast } from '../../core/switchover.js';
import type { AgentTarget, StopResult } from '../../ports/agent-control.js';
import { pollUntil, sleep } from '../deadline.js';
import { nodeOf, type SwitchoverDeps } from './deps.js';
import { stampEpoch } from './stamps.js';

export class Abort extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const REPLAY_POLL_MS = 20;
const BUSY_RETRY_MS = 2000;

/** Extends the leader lock while a long operation runs inside one tick; `lost` once it fails. */
export class LeaseKeeper {
  lost = false;
  readonly #timer: NodeJS.Timeout;

  constructor(deps: Pick<SwitchoverDeps, 'store' | 'cluster' | 'timing'>) {
    const ttl = deps.timing.lockTtlMs;
    this.#timer = setInterval(
      () =>
        void deps.store
          .tryLead(deps.cluster.name, ttl)
          .then((ok) => {
            if (!ok) this.lost = true;
          })
          .catch(() => {
            this.lost = true;
          }),
      Math.max(50, Math.floor(ttl / 3)),
    );
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export function specOf(d: Pick<SwitchoverDeps, 'cluster'>, name: string): NodeSpec {
  return nodeOf(d.cluster, name);
}

export function agentOf(d: Pick<SwitchoverDeps, 'cluster'>, name: string): AgentTarget {
  const url = d.cluster.nodes.find((x) => x.name === name)?.agent?.url;
  if (!url) throw new Abort('no-agent', `${name} has no agent (nodes[].agent.url)`);
  return { name, url };
}

export function probe(d: SwitchoverDeps, name: string): Promise<ProbeResult> {
  return d.pg.probe(specOf(d, name), {
    nowMono: () => d.clock.mono(),
    sentinel: d.sentinelId,
    heartbeat: false,
  });
}

/** Is `epoch` still the committed epoch, and ours? */
export async function stillOurs(d: SwitchoverDeps, epoch: number): Promise<boolean> {
  try {
    const t = await d.store.readTopology(d.cluster.name);
    return t.value?.epoch === epoch && t.value.committedBy === d.sentinelId;
  } catch {
    return false;
  }
}

/** `POST /stop`; an agent busy with a short action of its own is asked again for ~2 s. */
export async function stopPrimary(
  d: SwitchoverDeps,
  agent: AgentTarget,
  epoch: number,
): Promise<StopResult> {
  const until = d.clock.mono() + BUSY_RETRY_MS;
  for (;;) {
    try {
      return await d.agents.stop(agent, epoch, d.timing.switchoverTimeoutMs);
    } catch (err) {
      const busy = err instanceof AgentRefused && /busy/.test(err.message);
      if (!busy || d.clock.mono() > until) throw new Abort('stop-failed', (err as Error).message);
      await sleep(100);
    }
  }
}

/** Rule 7: wait until `to` replayed past the old primary's final checkpoint. */
export async function waitReplay(
  d: SwitchoverDeps,
  o: { from: string; to: string; stop: StopResult; lease: LeaseKeeper },
): Promise<void> {
  const limit = d.timing.switchoverTimeoutMs;
  let seen: number | undefined;
  const caughtUp = await pollUntil(
    { clock: d.clock, timeoutMs: limit, intervalMs: REPLAY_POLL_MS },
    async () => {
      if (o.lease.lost) throw new Abort('lost-leadership', 'this sentinel lost the leader lock');
      const p = await probe(d, o.to);
      if (p.ok && p.role !== 'standby')
        throw new Abort('target-not-standby', `${o.to} answers as ${p.role ?? 'unknown'}`);
      if (p.ok) seen = p.replayedLsn;
      return replayedPast(seen, o.stop.checkpointLsn) ? true : undefined;
    },
  );
  if (!caughtUp)
    throw new Abort(
      'target-not-caught-up',
      `${o.to} did not replay ${o.from}'s final checkpoint ${o.stop.checkpointLsnText} within ${formatMs(limit)} (replayed ${seen ?? 'unknown'} <= ${o.stop.checkpointLsn})`,
    );
}

/**
 * Promote and stamp. Returns whether the target is confirmed writable. An error is an `Abort`
 * (roll back) only when the promotion was never sent (no connection) and the node is no
 * primary: once `pg_promote` may have reached it, going back could leave two primaries.
 */
export async function promoteTarget(
  d: SwitchoverDeps,
  to: string,
  epoch: number,
): Promise<boolean> {
  const spec = specOf(d, to);
  let confirmed = true;
  try {
    await d.pg.promote(spec, d.timing.promoteTimeoutMs);
  } catch (err) {
    const neverSent = err instanceof PostgresUnreachable && /: connect\b/.test(err.message);
    const p = await probe(d, to);
    const message = `promoting ${to} failed: ${(err as Error).message}`;
    if (!(p.ok && p.role === 'primary')) {
      if (neverSent) throw new Abort('promote-failed', message);
      d.log.error({ cluster: d.cluster.name, epoch, node: to, err: message }, 'promotion unclear');
      confirmed = await answersAsPrimary(d, to, d.timing.promoteTimeoutMs);
    }
  }
  if (confirmed) await stampEpoch(d, spec, epoch, to);
  return confirmed;
}

/** Slots for every other node on the new primary, then re-point all but the stopped old one. */
export async function repointStandbys(
  d: SwitchoverDeps,
  from: string,
  to: string,
  epoch: number,
): Promise<string[]> {
  const primary = specOf(d, to);
  const others = d.cluster.nodes.map((n) => n.name).filter((n) => n !== to);
  const ours = await stillOurs(d, epoch);
  const problems = await Promise.all(
    others.map(async (name): Promise<string | null> => {
      try {
        await d.pg.ensureSlot(primary, name);
        if (name === from) return null; // stopped: its agent rejoins it
        if (!ours) return `${name} not re-pointed: epoch ${epoch} superseded`;
        await d.pg.repoint(specOf(d, name), primary, name);
        return null;
      } catch (err) {
        return `${name}: ${(err as Error).message}`;
      }
    }),
  );
  return problems.filter((p): p is string => p !== null);
}

/** updateTopology at the same epoch, retried briefly; false when it is not ours any more. */
export async function publish(d: SwitchoverDeps, t: Topology): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await d.store.updateTopology(t.cluster, t, d.sentinelId).catch(() => null);
    if (res?.committed) return true;
    if (res && res.seenEpoch > t.epoch) return false;
    await sleep(200);
  }
  return false;
}

/** Probe until `name` answers as a primary (its session reconnects after a restart). */
export async function answersAsPrimary(
  d: SwitchoverDeps,
  name: string,
  ms: number,
): Promise<boolean> {
  const primary = await pollUntil({ clock: d.clock, timeoutMs: ms, intervalMs: 100 }, async () => {
    const p = await probe(d, name);
    return p.ok && p.role === 'primary' ? true : undefined;
  });
  return primary ?? false;
}
