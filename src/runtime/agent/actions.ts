/**
 * The I/O behind each agent decision. Destructive actions re-read the topology just before
 * they run (a lock is not a fence) and give up when the epoch or the primary moved on; the
 * next loop decides again on fresh data.
 */
import type { AgentDecision } from '../../core/agent/model.js';
import { UserError } from '../../core/errors.js';
import type { NodeSpec } from '../../core/spec.js';
import type { ActionContext } from './deps.js';
import { rejoin } from './rejoin.js';

const STREAMING_WAIT_MS = 15_000;

/** A lock is not a fence: the epoch and primary the action was decided under still hold. */
async function recheck(c: ActionContext, epoch: number, primary: string): Promise<void> {
  const t = (await c.store.readTopology(c.cluster.name)).value;
  if (!t || t.epoch !== epoch || t.primary !== primary)
    throw new UserError(
      `topology moved on (epoch ${t?.epoch ?? 'none'}, primary ${t?.primary ?? 'none'}): not acting on epoch ${epoch}`,
    );
}

/** Read-only + client sessions ended, then `node-fenced` (publishing may fail when isolated: logged). */
async function fence(c: ActionContext, epoch: number, reason: string): Promise<void> {
  await c.pg.fence(c.self);
  await c.bus.emit({
    type: 'node-fenced',
    cluster: c.cluster.name,
    epoch,
    node: c.node,
    by: `agent-${c.node}`,
    reason,
  });
}

/** The work for `d`, or null when there is nothing to do. */
export function actionFor(d: AgentDecision, c: ActionContext): (() => Promise<void>) | null {
  // c.log only where there is work: the agent passes it as a getter (a pino child)
  const { pg, bus, cluster, node, process: local } = c;
  const spec = (name: string): NodeSpec => {
    const n = cluster.nodes.find((x) => x.name === name);
    if (!n) throw new UserError(`${name} is not a node of cluster ${cluster.name}`);
    return n;
  };
  switch (d.kind) {
    case 'none':
    case 'wait':
      return null;
    case 'fence':
      return () => fence(c, d.epoch, d.evidence);
    case 'unfence':
      return async () => {
        await pg.unfence(c.self);
        c.log.warn({ evidence: d.evidence }, 'unfenced: writable again');
      };
    case 'repoint':
      return async () => {
        await recheck(c, d.epoch, d.primary);
        await pg.ensureSlot(spec(d.primary), node);
        await pg.repoint(c.self, spec(d.primary), node);
        c.log.warn({ primary: d.primary, evidence: d.evidence }, 'standby re-pointed');
      };
    case 'rejoin':
      return async () => {
        await recheck(c, d.epoch, d.primary);
        // fenced before it is stopped: sessions that write now would be lost by the rewind
        // a demoted primary that does not answer (frozen, hung) cannot be fenced over SQL:
        // waiting for that attempt to time out would leave it able to wake and commit
        let unfenced = d.fenceFirst && !c.reachable;
        if (d.fenceFirst && c.reachable)
          await fence(c, d.epoch, d.evidence).catch((err: Error) => {
            unfenced = true;
            c.log.warn({ err: err.message }, 'fence before rejoin failed: stopping it at once');
          });
        if (unfenced && !c.reachable)
          c.log.warn('demoted primary does not answer: stopping it at once (no SQL fence)');
        const method = await rejoin(
          {
            process: local,
            pg,
            observer: c.observer,
            self: c.self,
            keepOldDataDirs: c.keepOldDataDirs,
            log: c.log,
            clock: c.clock,
            streamingWaitMs: STREAMING_WAIT_MS,
          },
          {
            primary: spec(d.primary),
            epoch: d.epoch,
            running: c.running,
            unfenced,
            rewind: d.rewind,
          },
        );
        await bus.emit({
          type: 'node-rejoined',
          cluster: cluster.name,
          epoch: d.epoch,
          node,
          method,
        });
      };
    case 'start':
      return async () => {
        // the dangerous one: a second writable primary if a failover committed meanwhile
        if (d.as === 'primary') await recheck(c, d.epoch, node);
        await local.start();
        c.log.warn({ as: d.as, evidence: d.evidence }, `postgres restarted as ${d.as}`);
      };
    default: {
      const never: never = d;
      throw new Error(`unknown decision ${JSON.stringify(never)}`);
    }
  }
}
