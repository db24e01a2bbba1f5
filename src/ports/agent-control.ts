/**
 * Agent control port: what a sentinel asks of a node's agent during a switchover (the agent's
 * HTTP API, src/adapters/http/agent-client.ts):
 * - `stop(epoch)`: stop postgres cleanly (pg_ctl stop -m fast) and answer the shutdown
 *   checkpoint's LSN. The agent refuses unless `epoch` is the committed epoch, the topology is
 *   `switching-over` and its node is that topology's primary.
 * - `start(epoch)`: start it again as it was (a primary) once a switchover is rolled back;
 *   resolves when it accepts connections.
 *
 * Errors: `AgentRefused` (the agent answered 4xx/5xx: it will not do it now; `busy` in the
 * message when another action of its own runs) and `AgentUnreachable` (no answer within
 * `timeoutMs`, connection refused). Both in src/core/errors.ts.
 */
export interface AgentTarget {
  /** node name, for messages */
  name: string;
  /** the agent's base URL (nodes[].agent.url) */
  url: string;
}

export interface StopResult {
  /** "Latest checkpoint location" of the stopped node, in bytes */
  checkpointLsn: number;
  checkpointLsnText: string;
  /** the stopped node's timeline, when pg_controldata named one */
  timeline?: number;
}

export interface AgentControl {
  stop(node: AgentTarget, epoch: number, timeoutMs: number): Promise<StopResult>;
  start(node: AgentTarget, epoch: number, timeoutMs: number): Promise<void>;
}
