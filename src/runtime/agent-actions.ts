/**
 * The I/O behind each agent decision. Destructive actions re-read the topology just before
 * they run (a lock is not a fence) and give up when the epoch or the primary moved on; the
 * next loop decides again on fresh data.
 */
import type { Logger } from '../adapters/logging/logger.js';
import type { AgentDecision } from '../core/agent/model.js';
import { UserError } from '../core/errors.js';
import type { NodeSpec } from '../core/model.js';
import type { AgentDeps } from './agent.js';
import { rejoin } from './agent-rejoin.js';
import { nodeSpec } from './cluster-loop.js';

const STREAMING_WAIT_MS = 15_000;

export interface ActionContext extends AgentDeps {
  self: NodeSpec;
  /** postgres ran at decision time */
  running: boolean;
  log: Logger;
}

/** A lock is not a fence: the epoch and primary the action was decided under still hold. */
async function recheck(c: ActionContext, epoch: number, primary: string): Promise<void> {
  const t = (await c.store.readTopology(c.cluster.name)).value;
  if (!t || t.epoch !== epoch || t.primary !== primary)
    throw new UserError(
      `topology moved on (epoch ${t?.epoch ?? 'none'}, primary ${t?.primary ?? 'none'}): not acting on epoch ${epoch}`,
    );
}

/** The work for `d`, or null when there is nothing to do. */
export function actionFor(d: AgentDecision, c: ActionContext): (() => Promise<void>) | null {
  const { pg, bus, cluster, node, local, log } = c;
  const spec = (name: string): NodeSpec => {
    const n = cluster.nodes.find((x) => x.name === name);
    if (!n) throw new UserError(`${name} is not a node of cluster ${cluster.name}`);
    return nodeSpec(n);
  };
  switch (d.kind) {
    case 'none':
    case 'wait':
      return null;
    case 'fence':
      return async () => {
        await pg.fence(c.self);
        // publishing may fail (we may be the isolated side): EventBus logs it then
        await bus.emit({
          type: 'node-fenced',
          cluster: cluster.name,
          epoch: d.epoch,
          node,
          by: `agent-${node}`,
          reason: d.evidence,
        });
      };
    case 'unfence':
      return async () => {
        await pg.unfence(c.self);
        log.warn({ evidence: d.evidence }, 'unfenced: writable again');
      };
    case 'repoint':
      return async () => {
        await recheck(c, d.epoch, d.primary);
        await pg.ensureSlot(spec(d.primary), node);
        await pg.repoint(c.self, spec(d.primary), node);
        log.warn({ primary: d.primary, evidence: d.evidence }, 'standby re-pointed');
      };
    case 'rejoin':
      return async () => {
        await recheck(c, d.epoch, d.primary);
        const method = await rejoin(
          {
            local,
            pg,
            cluster,
            self: c.self,
            session: c.session,
            keepOldDataDirs: c.config.agent.keepOldDataDirs,
            log,
            nowWall: () => c.clock.wall(),
            streamingWaitMs: STREAMING_WAIT_MS,
          },
          {
            primary: spec(d.primary),
            epoch: d.epoch,
            running: c.running,
            fenceFirst: d.fenceFirst,
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
        log.warn({ as: d.as, evidence: d.evidence }, `postgres restarted as ${d.as}`);
      };
    default: {
      const never: never = d;
      throw new Error(`unknown decision ${JSON.stringify(never)}`);
    }
  }
}
