/**
 * The sentinel's view of the node agents (AgentControl) over a FakePostgres: `/stop` writes the
 * shutdown checkpoint on the primary (standbys streaming from it receive it: 204 bytes, the
 * checkpoint at +100) and takes the node down; `/start` brings it back. Calls are recorded as
 * `stop pg1 2` / `start pg1 2`.
 */
import { AgentRefused } from '../../src/core/errors.js';
import type { AgentControl, AgentTarget, StopResult } from '../../src/ports/agent-control.js';
import type { FakePostgres } from './postgres.js';

export class FakeAgentControl implements AgentControl {
  readonly calls: string[] = [];
  /** the agent answers 409 to `/stop` */
  refuseStop = false;
  readonly #pg: FakePostgres;

  constructor(pg: FakePostgres) {
    this.#pg = pg;
  }

  async stop(node: AgentTarget, epoch: number): Promise<StopResult> {
    this.calls.push(`stop ${node.name} ${epoch}`);
    if (this.refuseStop)
      throw new AgentRefused(409, `agent of ${node.name} refused /stop: not now`);
    const checkpointLsn = this.#pg.node(node.name).lsn + 100;
    this.#pg.write(node.name, 204).down(node.name);
    return { checkpointLsn, checkpointLsnText: `0/${checkpointLsn.toString(16).toUpperCase()}` };
  }

  async start(node: AgentTarget, epoch: number): Promise<void> {
    this.calls.push(`start ${node.name} ${epoch}`);
    this.#pg.up(node.name);
  }
}
